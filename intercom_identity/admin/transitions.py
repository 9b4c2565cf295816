"""The explicit changes of a configuration offered in the admin (phase, credential mode),
with the texts that say what each one does."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from intercom_identity._internal.formatting import ARROW, BACK_ARROW
from intercom_identity.models import CredentialMode, PlatformConfig, RolloutPhase, change_summary

PHASE_CONSEQUENCES = {
    RolloutPhase.OFF: _("No hash is handed out. If Intercom still enforces, users of this platform will be rejected."),
    RolloutPhase.SENDING: _("Hashes are handed out; Intercom does not enforce them yet. Safe to ship."),
    RolloutPhase.ENFORCED: _(
        "Only turn this on once Intercom enforces identity verification for this platform and nearly all "
        "active users run an app version that sends the hash: versions that do not will stop working."
    ),
}

# Moves whose meaning is not the target's alone: going back from Enforced is not "safe to ship".
MOVE_CONSEQUENCES = {
    (RolloutPhase.ENFORCED, RolloutPhase.SENDING): _(
        "Hashes are still handed out, so no user notices. This records that Intercom no longer enforces "
        "identity verification for this platform: turn enforcement off in Intercom too (Settings > Security), "
        "or this record and the workspace disagree."
    ),
    (RolloutPhase.ENFORCED, RolloutPhase.OFF): _(
        "No hash is handed out any more while Intercom enforces identity verification for this platform: "
        "every user of it is rejected until enforcement is turned off in Intercom. Turn it off there first."
    ),
    (RolloutPhase.OFF, RolloutPhase.ENFORCED): _(
        "Skips Sending: no app version has received the hash yet, so every user of a version that does not "
        "send it is rejected as soon as Intercom enforces. Move to Sending first unless this platform is unused."
    ),
}


MODE_CONSEQUENCES = {
    CredentialMode.USER_HASH: _("The app hands out the user hash (HMAC), which every SDK version understands."),
    CredentialMode.JWT: _(
        "The app hands out signed JWTs instead of the hash. Only switch once the app versions in use pass "
        "intercom_user_jwt to the SDK: under enforcement, versions that only know the hash stop working."
    ),
}

# The phases by a short name, for buttons that have little room ("Sending →").
PHASE_SHORT_LABELS = {
    RolloutPhase.OFF: pgettext_lazy("phase", "Off"),
    RolloutPhase.SENDING: pgettext_lazy("phase", "Sending"),
    RolloutPhase.ENFORCED: pgettext_lazy("phase", "Enforced"),
}


@dataclass(frozen=True)
class Transition:
    """One explicit change of a configuration: its phase or its credential mode.

    Its texts are read when a page is drawn, so they come in the language of that request.
    """

    field: str
    value: str
    always_confirm: bool

    @property
    def target(self) -> RolloutPhase | CredentialMode:
        """What ``rollout.preview`` and ``rollout.change_many`` move the rows to."""
        return RolloutPhase(self.value) if self.field == "phase" else CredentialMode(self.value)

    @property
    def key(self) -> str:
        """``phase:enforced``: how links and forms name the change."""
        return f"{self.field}:{self.value}"

    @property
    def label(self) -> str:
        """The target as people read it: "Sending (not enforced)", "JWT (Messenger Security)"."""
        return str(self.target.label)

    @property
    def button(self) -> str:
        if self.field == "phase":
            return gettext("Move to %(label)s") % {"label": self.label}
        return gettext("Hand out %(label)s") % {"label": self.label}

    @property
    def question(self) -> str:
        """The confirmation page's title."""
        return gettext("%(action)s?") % {"action": self.button}

    @property
    def confirm(self) -> str:
        if self.field == "phase":
            return gettext("Yes, move to %(label)s") % {"label": self.label}
        return gettext("Yes, hand out %(label)s") % {"label": self.label}

    @property
    def action_description(self) -> str:
        if self.field == "phase":
            return gettext("Move selected to %(label)s") % {"label": self.label}
        return gettext("Hand out %(label)s for selected") % {"label": self.label}

    @property
    def consequence(self) -> str:
        if self.field == "phase":
            return str(PHASE_CONSEQUENCES[RolloutPhase(self.value)])
        return str(MODE_CONSEQUENCES[CredentialMode(self.value)])

    def consequences(self, currents: Iterable[str]) -> list[str]:
        """What the change does from each of these current values, once each: the text of the
        move (Enforced -> Sending is not Off -> Sending), else the target's."""
        if self.field != "phase":
            return [self.consequence]
        target = RolloutPhase(self.value)
        texts = [
            str(MOVE_CONSEQUENCES.get((RolloutPhase(current), target), PHASE_CONSEQUENCES[target]))
            for current in currents
        ]
        return list(dict.fromkeys(texts)) or [self.consequence]

    def step_label(self, current: str) -> str:
        """A short button beside the current phase: "← Off", "Enforced →"; a mode's button names it."""
        if self.field != "phase":
            return self.button
        target = RolloutPhase(self.value)
        short = str(PHASE_SHORT_LABELS[target])
        backwards = PHASE_ORDER.index(target) < PHASE_ORDER.index(RolloutPhase(current))
        return f"{BACK_ARROW} {short}" if backwards else f"{short} {ARROW}"

    def is_current(self, config: PlatformConfig) -> bool:
        return bool(getattr(config, self.field) == self.value)

    def history(self, previous: str) -> str:
        """The admin history's entry: the same wording as the audit trail."""
        return change_summary(self.field, previous, self.value) + "."


PHASE_ORDER = list(RolloutPhase)

TRANSITIONS: dict[str, Transition] = {
    **{
        f"phase:{phase.value}": Transition("phase", phase.value, always_confirm=phase is RolloutPhase.ENFORCED)
        for phase in RolloutPhase
    },
    **{
        f"credential_mode:{mode.value}": Transition("credential_mode", mode.value, always_confirm=True)
        for mode in CredentialMode
    },
}


def neighbour_phase(phase: RolloutPhase, step: int) -> RolloutPhase | None:
    """The next (+1) or previous (-1) phase of the rollout, or None at either end."""
    index = PHASE_ORDER.index(phase) + step
    return PHASE_ORDER[index] if 0 <= index < len(PHASE_ORDER) else None

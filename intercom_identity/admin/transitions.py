"""The explicit changes of a configuration offered in the admin (phase, credential mode),
with the texts that say what each one does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from ..models import CredentialMode, PlatformConfig, RolloutPhase

if TYPE_CHECKING:
    from .transition_page import TransitionPage

PHASE_CONSEQUENCES = {
    RolloutPhase.OFF: _("No hash is handed out. If Intercom still enforces, users of this platform will be rejected."),
    RolloutPhase.SENDING: _("Hashes are handed out; Intercom does not enforce them yet. Safe to ship."),
    RolloutPhase.ENFORCED: _(
        "Only turn this on once Intercom enforces identity verification for this platform and nearly all "
        "active users run an app version that sends the hash: versions that do not will stop working."
    ),
}


MODE_CONSEQUENCES = {
    CredentialMode.USER_HASH: _("The app hands out the user hash (HMAC), which every SDK version understands."),
    CredentialMode.JWT: _(
        "The app hands out signed JWTs instead of the hash. Only switch once the app versions in use pass "
        "intercom_user_jwt to the SDK: under enforcement, versions that only know the hash stop working."
    ),
}


@dataclass(frozen=True)
class Transition:
    """One explicit change of a configuration: its phase or its credential mode."""

    field: str
    value: str
    title: str
    button: str
    action_description: str
    consequence: str
    always_confirm: bool

    @property
    def target(self) -> RolloutPhase | CredentialMode:
        """What ``rollout.preview`` and ``rollout.change_many`` move the rows to."""
        return RolloutPhase(self.value) if self.field == "phase" else CredentialMode(self.value)

    def is_current(self, config: PlatformConfig) -> bool:
        return bool(getattr(config, self.field) == self.value)

    def history(self, previous: str) -> str:
        what = "Phase" if self.field == "phase" else "Credential mode"
        return f"{what} changed from {previous} to {self.value}."

    def admin_action(self) -> Callable[..., HttpResponse | None]:
        """The changelist action for this change (``move_to_<phase>`` or ``use_<mode>``)."""
        name = f"move_to_{self.value}" if self.field == "phase" else f"use_{self.value}"
        key = f"{self.field}:{self.value}"

        def action(
            modeladmin: TransitionPage, request: HttpRequest, queryset: QuerySet[PlatformConfig]
        ) -> HttpResponse | None:
            return modeladmin._transition_action(request, queryset, key, name)

        action.__name__ = name
        return admin.action(description=self.action_description, permissions=["change"])(action)


TRANSITIONS: dict[str, Transition] = {
    **{
        f"phase:{phase.value}": Transition(
            "phase",
            phase.value,
            f"phase '{phase.value}'",
            f"Move to {phase.label}",
            f"Move selected to phase: {phase.value}",
            str(PHASE_CONSEQUENCES[phase]),
            always_confirm=phase is RolloutPhase.ENFORCED,
        )
        for phase in RolloutPhase
    },
    **{
        f"credential_mode:{mode.value}": Transition(
            "credential_mode",
            mode.value,
            f"credential '{mode.value}'",
            f"Hand out {mode.label}",
            f"Hand out {mode.label} for selected",
            str(MODE_CONSEQUENCES[mode]),
            always_confirm=True,
        )
        for mode in CredentialMode
    },
}


PHASE_ORDER = list(RolloutPhase)


def neighbour_phase(phase: RolloutPhase, step: int) -> RolloutPhase | None:
    """The next (+1) or previous (-1) phase of the rollout, or None at either end."""
    index = PHASE_ORDER.index(phase) + step
    return PHASE_ORDER[index] if 0 <= index < len(PHASE_ORDER) else None

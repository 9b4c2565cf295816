"""Changing a configuration under the rollout rules.

Every change of a secret, phase, credential mode, minimum sending version or app ID goes through
this module, which applies it on a locked row and writes one ``AuditEvent`` in the same
transaction, whoever asked (admin, command, code). Moving to ``enforced`` is guarded by
adoption: the share of active users whose app version sends the credential.
"""

from __future__ import annotations

import getpass
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal.configcache import config_changed
from intercom_identity.conf import conf
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.exceptions import (
    ApiTokenManagedBySettings,
    EnforcementBlocked,
    MinimumContradictsEvidence,
    PhaseRequiresSecret,
    ProductionPermissionRequired,
    ReasonRequired,
    RetireTooEarly,
    SecretManagedBySettings,
    SecretProvisioningRefused,
    SecretUnavailable,
)
from intercom_identity.models import AuditEvent, CredentialMode, Environment, PlatformConfig, RolloutPhase
from intercom_identity.permissions import can_manage_production
from intercom_identity.rollout.adoption import EVIDENCE, Adoption, adoption, covered_but_seen_without_credential
from intercom_identity.selectors import locked_config, parse_mode, parse_phase
from intercom_identity.validators import (
    clean_app_id,
    clean_audit_reason,
    clean_min_version,
    validate_api_token,
    validate_secret,
    validate_secret_choice,
)


def actor_label(actor: Any) -> str:
    """Who made a change, as text that outlives the user row."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        return str(actor.get_username())
    try:
        return f"command line ({getpass.getuser()})"
    except (OSError, KeyError):
        return "command line"


# What ``PlatformConfig.set_secret`` changes on a row, saved by every path that stores a secret.
SET_SECRET_FIELDS = [*PlatformConfig.SECRET_COLUMNS.names, "encrypted_previous_secret", "updated_at"]
# The Intercom ids kept beside the secrets (``_replace_intercom_ids``), saved with every change of the secret in use.
INTERCOM_ID_FIELDS = ["intercom_secret_id", "intercom_secret_created_at", "previous_intercom_secret_id"]


def write_audit_event(
    subject: PlatformConfig | Environment,
    kind: str,
    previous: str,
    new: str,
    *,
    actor: Any,
    reason: str = "",
    forced: bool = False,
    readiness: Adoption | None = None,
) -> AuditEvent:
    """The one writer of audit rows: a configuration's change (with the readiness it was made at) or an
    environment's (its API token, its app ID). Call it inside the change's transaction: raising here
    (a reason the rule refuses) rolls the change back with the row it would have had."""
    reason = clean_audit_reason(reason)
    if isinstance(subject, PlatformConfig):
        environment, platform = subject.environment.slug, subject.platform
        # The caller's readiness when it has one (a ratio of None, "nobody active", is an answer too).
        adoption_ratio = (readiness or adoption(subject, with_daily=False)).ratio
    else:
        environment, platform, adoption_ratio = subject.slug, "", None
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor),
        environment=environment,
        platform=platform,
        kind=kind,
        from_value=previous,
        to_value=new,
        adoption_ratio=adoption_ratio,
        reason=reason,
        forced=forced,
    )


@sensitive_variables()
def store_secret(config: PlatformConfig, secret: str, *, actor: Any = None, reason: str = "") -> str:
    """Validate, encrypt and save a new secret for ``config``; returns its fingerprint.

    The audit trail records the fingerprints, never the secret.
    """
    refuse_settings_secret(config)
    with transaction.atomic():
        locked = locked_config(config)
        check_secret_choice(locked, secret)
        previous, previous_id = locked.secret_fingerprint, locked.intercom_secret_id
        if not _holds(locked, secret):  # another secret: the one in use becomes the previous, with its Intercom id
            _replace_intercom_ids(locked, moving=bool(locked.encrypted_secret))
        locked.set_secret(secret)
        locked.save(update_fields=[*SET_SECRET_FIELDS, *INTERCOM_ID_FIELDS])
        write_audit_event(
            locked, AuditEvent.Kind.SECRET, previous, locked.secret_fingerprint, actor=actor, reason=reason
        )
        if locked.intercom_secret_id != previous_id:
            write_audit_event(locked, AuditEvent.Kind.INTERCOM_SECRET, previous_id, "", actor=actor, reason=reason)
    config.refresh_from_db()
    return config.secret_fingerprint


@sensitive_variables()
def check_secret_choice(config: PlatformConfig, secret: str) -> None:
    """Refuse a secret for ``config`` that cannot be right: malformed, too short, an app ID, or the
    secret another pair already has (compared by fingerprint, stored or from settings); and, for a
    secret to store, one that would push out a previous secret made in Intercom not yet retired.

    ``store_secret`` calls it; the admin's form too, to show the message beside the field.
    """
    validate_secret(secret)
    app_ids = Environment.objects.exclude(app_id="").values_list("app_id", flat=True)
    new = fingerprint(secret)
    others = PlatformConfig.objects.select_related("environment").exclude(pk=config.pk)
    same_as = next((str(other) for other in others if other.fingerprint == new and _holds(other, secret)), None)
    validate_secret_choice(secret, app_ids=list(app_ids), same_as=same_as)
    if not config.managed_by_settings and not _holds(config, secret):
        _previous_slot(config, moving=bool(config.encrypted_secret))


@sensitive_variables()
def _holds(config: PlatformConfig, secret: str) -> bool:
    """Whether ``config``'s secret is ``secret`` (a fingerprint is 8 hex characters: confirm it)."""
    try:
        return hmac.compare_digest(config.secret().encode("utf-8"), secret.encode("utf-8"))
    except SecretUnavailable:
        return False


def clear_secret(config: PlatformConfig, *, actor: Any = None, reason: str = "") -> str:
    """Delete the stored secret (and the kept previous one); returns the fingerprint it had.

    Allowed while the phase is ``off``, or when settings supply the secret (the stored one is
    then unused, and must go: it would silently come back if the settings entry did).
    """
    with transaction.atomic():
        locked = locked_config(config)
        if locked.phase != RolloutPhase.OFF and not locked.managed_by_settings:
            raise PhaseRequiresSecret(
                f"{config} is in phase '{locked.phase}': move it to 'off' before clearing its secret."
            )
        previous = locked.secret_fingerprint
        if locked.encrypted_secret or locked.encrypted_previous_secret or locked.intercom_secret_id:
            # Intercom still holds a secret made through its API: its id stays, as the previous one, for retire-secret.
            previous_id = _replace_intercom_ids(locked, moving=bool(locked.intercom_secret_id))
            PlatformConfig.objects.filter(pk=locked.pk).update(
                encrypted_previous_secret="",
                **PlatformConfig.SECRET_COLUMNS.cleared(),
                **{field: getattr(locked, field) for field in INTERCOM_ID_FIELDS},
            )
            config_changed(environment=locked.environment.slug)
            reason = reason or "stored secret cleared"
            write_audit_event(locked, AuditEvent.Kind.SECRET, previous, "", actor=actor, reason=reason)
            if previous_id:
                write_audit_event(locked, AuditEvent.Kind.INTERCOM_SECRET, previous_id, "", actor=actor, reason=reason)
    config.refresh_from_db()
    return previous


# --- the Intercom API token of an environment (workspace truth) ---------------------------


@sensitive_variables()
def store_api_token(environment: Environment, token: str, *, actor: Any = None, reason: str = "") -> str:
    """Validate, encrypt and save the environment's Intercom access token; returns its fingerprint.

    Saved with a queryset update: the token is not part of what credentials are served
    from, so storing it does not invalidate any process's copy. Audited by fingerprint.
    """
    if environment.api_token_managed_by_settings:
        raise ApiTokenManagedBySettings(
            f"The API token of {environment} is managed by settings (INTERCOM_IDENTITY_API_TOKENS): change it there."
        )
    columns = Environment.API_TOKEN_COLUMNS
    written = columns.written(token, validate_api_token)
    with transaction.atomic():
        locked = Environment.objects.select_for_update().get(pk=environment.pk)
        previous, new = locked.api_token_fingerprint, str(written[columns.fingerprint])
        Environment.objects.filter(pk=locked.pk).update(**written)
        write_audit_event(locked, AuditEvent.Kind.API_TOKEN, previous, new, actor=actor, reason=reason)
    environment.refresh_from_db()
    return new


def clear_api_token(environment: Environment, *, actor: Any = None, reason: str = "") -> str:
    """Delete the stored token; returns the fingerprint it had ("" when there was none)."""
    with transaction.atomic():
        locked = Environment.objects.select_for_update().get(pk=environment.pk)
        previous = locked.api_token_fingerprint
        if locked.encrypted_api_token:
            Environment.objects.filter(pk=locked.pk).update(**Environment.API_TOKEN_COLUMNS.cleared())
            write_audit_event(
                locked,
                AuditEvent.Kind.API_TOKEN,
                previous,
                "",
                actor=actor,
                reason=reason or "stored API token cleared",
            )
    environment.refresh_from_db()
    return previous


Target = RolloutPhase | CredentialMode
_FIELDS: dict[type[Target], str] = {RolloutPhase: "phase", CredentialMode: "credential_mode"}


@dataclass(frozen=True)
class Move:
    """What moving one configuration to a target would do, as the rules judge it now."""

    config: PlatformConfig
    field: str
    current: str
    target: str
    missing_secret: bool  # the target needs a secret this row does not have
    readiness: Adoption | None  # the guard's numbers, for a row that would become enforced

    @property
    def changes(self) -> bool:
        return self.current != self.target

    @property
    def below_threshold(self) -> bool:
        """Refused by the guard unless forced (an already enforced row is not guarded: it does not move)."""
        return self.readiness is not None and not self.readiness.meets_threshold


@dataclass(frozen=True)
class Preview:
    """What ``change_many`` would do to a selection, row by row, without doing it."""

    target: Target
    moves: tuple[Move, ...]

    @property
    def changing(self) -> list[Move]:
        return [move for move in self.moves if move.changes]

    @property
    def missing_secret(self) -> list[PlatformConfig]:
        """Rows that block the whole change: it needs a secret they lack."""
        return [move.config for move in self.moves if move.missing_secret]

    @property
    def readiness(self) -> list[tuple[PlatformConfig, Adoption]]:
        """The guard's numbers for each row it applies to."""
        return [(move.config, move.readiness) for move in self.moves if move.readiness is not None]

    @property
    def below_threshold(self) -> list[PlatformConfig]:
        """Rows the guard refuses unless the change is forced (with a reason)."""
        return [move.config for move in self.moves if move.below_threshold]


def _target(value: Target | str) -> Target:
    """A phase or a credential mode; a string names a phase."""
    return value if isinstance(value, (RolloutPhase, CredentialMode)) else parse_phase(value)


def _assess(config: PlatformConfig, target: Target) -> Move:
    field = _FIELDS[type(target)]
    current = str(getattr(config, field))
    missing_secret = isinstance(target, RolloutPhase) and target.needs_secret and not config.has_secret
    # The guard weighs only a row that would really become enforced: one already enforced
    # does not move, one without a secret cannot (forcing would not help it).
    guarded = target is RolloutPhase.ENFORCED and current != target and not missing_secret
    return Move(
        config=config,
        field=field,
        current=current,
        target=target.value,
        missing_secret=missing_secret,
        readiness=adoption(config, with_daily=False) if guarded else None,
    )


def preview(configs: Iterable[PlatformConfig], target: Target | str) -> Preview:
    """What moving ``configs`` to ``target`` (a phase, or a credential mode) would change, what
    blocks it and the guard's numbers: the confirmation page shows exactly what ``change_many``
    then enforces."""
    target = _target(target)
    return Preview(target, tuple(_assess(config, target) for config in configs))


def change_many(
    configs: Iterable[PlatformConfig],
    target: Target | str,
    *,
    actor: Any = None,
    reason: str = "",
    force: bool = False,
) -> list[tuple[PlatformConfig, str]]:
    """Move every config to ``target`` under the rules, all or nothing; returns each config with
    the value it had before (equal to the target for a row that did not move).

    A phase other than ``off`` needs a secret (``PhaseRequiresSecret``). Moving to ``enforced``
    needs adoption at or above ``INTERCOM_IDENTITY_ENFORCE_THRESHOLD`` (``EnforcementBlocked``)
    unless ``force`` with a ``reason`` (``ReasonRequired``); going back is always allowed.
    """
    target = _target(target)
    if force and not reason.strip():
        raise ReasonRequired(gettext("A forced change needs a written reason."))
    field = _FIELDS[type(target)]
    stamp = "phase_changed_at" if field == "phase" else None

    def check(locked: PlatformConfig) -> tuple[bool, Adoption | None]:
        """Raise when the move is not allowed; else whether it goes through only because it is forced."""
        move = _assess(locked, target)
        if move.missing_secret:
            raise PhaseRequiresSecret(
                gettext("%(config)s has no stored secret: store one before moving it to '%(phase)s'.")
                % {"config": locked, "phase": move.target}
            )
        if move.below_threshold and not force:
            assert move.readiness is not None  # noqa: S101 - below_threshold says so
            raise EnforcementBlocked(locked, move.readiness)
        return move.below_threshold, move.readiness

    with transaction.atomic():
        return [
            (config, _change_field(config, field, target.value, check, stamp=stamp, actor=actor, reason=reason))
            for config in configs
        ]


def change_phase(
    config: PlatformConfig,
    phase: RolloutPhase | str,
    *,
    actor: Any = None,
    reason: str = "",
    force: bool = False,
) -> RolloutPhase:
    """Move ``config`` to ``phase`` under the rules of ``change_many``; returns the phase it had before."""
    [(_config, previous)] = change_many([config], parse_phase(phase), actor=actor, reason=reason, force=force)
    return RolloutPhase(previous)


def change_mode(
    config: PlatformConfig, mode: CredentialMode | str, *, actor: Any = None, reason: str = ""
) -> CredentialMode:
    """Switch the credential ``config`` hands out (``user_hash`` or ``jwt``); returns the previous mode."""
    [(_config, previous)] = change_many([config], parse_mode(mode), actor=actor, reason=reason)
    return CredentialMode(previous)


def set_min_sending_version(
    config: PlatformConfig, version: str, *, actor: Any = None, reason: str = "", force: bool = False
) -> str:
    """Mark app versions from ``version`` on as credential-sending ("" clears it); returns the previous one.

    A minimum that would count as sending a version whose users were seen, while the platform
    was handing the credential out, without it (and that the evidence does not show to send) is
    refused (``MinimumContradictsEvidence``, naming the versions), unless ``force`` with a
    ``reason`` (``ReasonRequired``): it is then audited as forced. Every change is audited.
    """
    version = clean_min_version(version) if version else ""
    if force and not reason.strip():
        raise ReasonRequired(gettext("A forced change needs a written reason."))

    def check(locked: PlatformConfig) -> tuple[bool, Adoption | None]:
        contradicted = contradicted_versions(locked, version)
        if contradicted and not force:
            raise MinimumContradictsEvidence(locked, version, shortened(contradicted))
        return bool(contradicted), None

    return _change_field(config, "min_sending_version", version, check, actor=actor, reason=reason)


def contradicted_versions(config: PlatformConfig, minimum: str) -> list[str]:
    """The versions ``minimum`` would count as sending against what was seen: users on them were
    handed no credential while the platform was handing it out, and their evidence falls short."""
    seen = covered_but_seen_without_credential(config, minimum)
    if not seen:
        return []
    shown = {share.version for share in adoption(config, with_daily=False).versions if share.counted_by == EVIDENCE}
    return [version for version in seen if version not in shown]


def shortened(names: list[str], limit: int = 10) -> list[str]:
    """At most ``limit`` names, then how many more: an error message stays one readable line."""
    if len(names) <= limit:
        return names
    return [*names[:limit], gettext("and %(count)d more") % {"count": len(names) - limit}]


PRODUCTION_FLAG = {True: "on", False: "off"}  # as AuditEvent records it (models.PRODUCTION_FLAG_LABELS)


def set_is_production(environment: Environment, is_production: bool, *, actor: Any = None, reason: str = "") -> bool:
    """Turn the environment's production flag on or off; returns the previous value.

    The flag decides who may change the environment (``manage_production``), so it is guarded
    state: a signed-in ``actor`` needs that permission to turn it either way
    (``ProductionPermissionRequired``; code and the command line act as the operator), and each
    change is one ``AuditEvent`` in the same transaction.
    """
    if getattr(actor, "is_authenticated", False) and not can_manage_production(actor):
        raise ProductionPermissionRequired(
            gettext("Turning the production flag of %(environment)s on or off needs the manage-production permission.")
            % {"environment": environment}
        )
    with transaction.atomic():
        locked = Environment.objects.select_for_update().get(pk=environment.pk)
        previous = locked.is_production
        if previous != is_production:
            locked.is_production = is_production
            locked.save(update_fields=["is_production", "updated_at"])
            write_audit_event(
                locked,
                AuditEvent.Kind.IS_PRODUCTION,
                PRODUCTION_FLAG[previous],
                PRODUCTION_FLAG[is_production],
                actor=actor,
                reason=reason,
            )
    environment.refresh_from_db()
    return previous


def _change_field(
    config: PlatformConfig,
    field: str,
    value: str,
    check: Callable[[PlatformConfig], tuple[bool, Adoption | None]] | None = None,
    *,
    stamp: str | None = None,
    actor: Any = None,
    reason: str = "",
) -> str:
    """Set one field of ``config`` on a locked row and audit it; returns the previous value.

    The row is locked while it changes, so two admins acting at once cannot lose an update,
    and the audit row commits with the change or not at all.
    """
    with transaction.atomic():
        locked = locked_config(config)
        previous = str(getattr(locked, field))
        forced, readiness = check(locked) if check is not None else (False, None)
        if previous != value:
            setattr(locked, field, value)
            fields = [field, "updated_at"]
            if stamp:
                setattr(locked, stamp, timezone.now())
                fields.append(stamp)
            if field == "phase":
                fields.append(_stamp_sending_since(locked, previous, value))
            locked.save(update_fields=fields)
            write_audit_event(
                locked,
                field,
                previous,
                value,
                actor=actor,
                reason=reason,
                forced=forced,
                readiness=readiness,
            )
    config.refresh_from_db()
    return previous


def _stamp_sending_since(locked: PlatformConfig, previous: str, phase: str) -> str:
    """Keep ``sending_since`` (the web soak and the minimum's check measure from it): set when the
    credential starts being handed out, kept from ``sending`` to ``enforced`` and back, cleared at ``off``."""
    if phase == RolloutPhase.OFF:
        locked.sending_since = None
    elif previous == RolloutPhase.OFF or locked.sending_since is None:
        locked.sending_since = timezone.now()
    return "sending_since"


def set_app_id(environment: Environment, app_id: str, *, actor: Any = None, reason: str = "") -> str:
    """Set the Intercom app ID that boots the web messenger in ``environment`` ("" clears it); returns the
    previous one.

    The app ID is no secret, but a wrong one boots the messenger into another workspace (or none), so
    it is validated, changed on a locked row and audited like a phase: one ``AuditEvent`` (with no
    platform: it concerns them all) in the same transaction.
    """
    value = clean_app_id(app_id)
    with transaction.atomic():
        locked = Environment.objects.select_for_update().get(pk=environment.pk)
        previous = locked.app_id
        if previous != value:
            locked.app_id = value
            locked.save(update_fields=["app_id", "updated_at"])
            write_audit_event(locked, AuditEvent.Kind.APP_ID, previous, value, actor=actor, reason=reason)
    environment.refresh_from_db()
    return previous


# --- secrets made through Intercom's API (the database half; workspace.secrets talks to Intercom) ----
#
# A creation is announced before Intercom is asked (``begin_secret_creation`` stores the name the new
# secret gets), so a secret Intercom made but this app never stored (the answer lost, the database
# down after Intercom answered) can always be found by that name and deleted by the next command.


def refuse_settings_secret(config: PlatformConfig) -> None:
    """Raise ``SecretManagedBySettings`` when settings supply ``config``'s secret: it is changed there."""
    if config.managed_by_settings:
        raise SecretManagedBySettings(
            f"The secret of {config} is managed by settings (INTERCOM_IDENTITY_SECRETS): change it there."
        )


def _previous_slot(locked: PlatformConfig, *, moving: bool) -> str:
    """The Intercom id the row's previous secret has once the secret in use gives way: that one's
    (``moving``: it moves into the previous slot), else the one recorded there now.

    Refused while the slot holds a secret made in Intercom, not yet retired, and another must move
    in: the app would forget one of the two while Intercom keeps it."""
    if not moving:
        return locked.previous_intercom_secret_id
    if locked.previous_intercom_secret_id:
        raise SecretProvisioningRefused(
            gettext(
                "%(config)s still has its previous secret (Intercom id %(id)s), which Intercom keeps until it is "
                "retired: retire it first (`manage.py intercom_identity retire-secret %(env)s %(platform)s`, "
                "with --force --reason inside the grace period)."
            )
            % {
                "config": locked,
                "id": locked.previous_intercom_secret_id,
                "env": locked.environment.slug,
                "platform": locked.platform,
            }
        )
    return locked.intercom_secret_id


def _replace_intercom_ids(locked: PlatformConfig, *, moving: bool, new_id: str = "", created_at: Any = None) -> str:
    """Record on ``locked`` (unsaved) that the secret in use gives way to one with Intercom id ``new_id``
    ("": stored by hand, or none); returns the id it had. See ``_previous_slot`` for ``moving``."""
    previous_id = locked.intercom_secret_id
    locked.previous_intercom_secret_id = _previous_slot(locked, moving=moving)
    locked.intercom_secret_id = new_id
    locked.intercom_secret_created_at = created_at
    return previous_id


def begin_secret_creation(config: PlatformConfig, name: str, *, rotate: bool) -> PlatformConfig:
    """Check that ``config`` may get a new secret from Intercom and record the name it will have.

    ``rotate``: the new secret replaces one made through the API (``rotate-secret``); otherwise
    the row must not have one yet (``create-secret``). Returns the locked row's state.
    """
    refuse_settings_secret(config)
    with transaction.atomic():
        locked = locked_config(config)
        if locked.pending_secret_name:
            raise SecretProvisioningRefused(
                gettext("%(config)s has a secret creation under way in Intercom: finish it first.") % {"config": locked}
            )
        _previous_slot(locked, moving=bool(locked.encrypted_secret))
        if rotate and not locked.has_secret:
            raise SecretProvisioningRefused(
                gettext("%(config)s has no secret to rotate: create one (`create-secret`).") % {"config": locked}
            )
        if not rotate and locked.intercom_secret_id:
            raise SecretProvisioningRefused(
                gettext(
                    "%(config)s already has a secret made in Intercom (id %(id)s): rotate it instead "
                    "(`manage.py intercom_identity rotate-secret %(env)s %(platform)s`)."
                )
                % {
                    "config": locked,
                    "id": locked.intercom_secret_id,
                    "env": locked.environment.slug,
                    "platform": locked.platform,
                }
            )
        PlatformConfig.objects.filter(pk=locked.pk).update(pending_secret_name=name)
    config.refresh_from_db()
    return config


def end_secret_creation(config: PlatformConfig, name: str, *, actor: Any = None, reason: str = "") -> None:
    """Forget the creation announced as ``name`` (its secret is gone from Intercom, or never was)."""
    with transaction.atomic():
        locked = locked_config(config)
        if locked.pending_secret_name == name:
            PlatformConfig.objects.filter(pk=locked.pk).update(pending_secret_name="")
    config.refresh_from_db()


@sensitive_variables()
def store_created_secret(
    config: PlatformConfig,
    name: str,
    secret: str,
    *,
    intercom_id: str,
    created_at: Any,
    actor: Any = None,
    reason: str = "",
) -> str:
    """Store the secret Intercom made for the creation announced as ``name`` as the one in use; the one
    it replaces stays accepted as the previous secret (with its Intercom id, for ``retire-secret``).
    Audited twice in one transaction: the fingerprints, and the Intercom ids. Returns the fingerprint.

    Nothing is read after the commit (``config`` is not refreshed): a database error raised here means
    the secret may or may not be stored, and ``stored_fingerprint_of`` is how the caller finds out."""
    validate_secret(secret)
    with transaction.atomic():
        locked = locked_config(config)
        if locked.pending_secret_name != name:
            raise SecretProvisioningRefused(
                gettext("%(config)s is no longer waiting for this secret: nothing was stored.") % {"config": locked}
            )
        previous_fingerprint = locked.secret_fingerprint
        previous_id = _replace_intercom_ids(
            locked, moving=bool(locked.encrypted_secret), new_id=intercom_id, created_at=created_at or timezone.now()
        )
        locked.set_secret(secret)
        locked.pending_secret_name = ""
        locked.save(update_fields=[*SET_SECRET_FIELDS, *INTERCOM_ID_FIELDS, "pending_secret_name"])
        write_audit_event(
            locked, AuditEvent.Kind.SECRET, previous_fingerprint, locked.secret_fingerprint, actor=actor, reason=reason
        )
        write_audit_event(locked, AuditEvent.Kind.INTERCOM_SECRET, previous_id, intercom_id, actor=actor, reason=reason)
        stored = locked.secret_fingerprint
    return stored


def stored_fingerprint_of(config: PlatformConfig, intercom_id: str) -> str | None:
    """The fingerprint of ``config``'s secret in use when it is Intercom's ``intercom_id``, else None.

    Asked after a database error while storing that secret (the commit itself may have failed, or
    only its answer): the row is locked, so a commit still under way is waited for. Raises
    ``DatabaseError`` when the database cannot answer."""
    with transaction.atomic():
        locked = locked_config(config)
    return locked.secret_fingerprint if locked.intercom_secret_id == intercom_id else None


def retire_deadline(config: PlatformConfig) -> Any:
    """When the previous secret may be retired without ``force``: the rotation plus the grace period."""
    if config.secret_set_at is None:
        return None
    return config.secret_set_at + timedelta(hours=conf.SECRET_RETIRE_AFTER_HOURS)


def check_retirement(config: PlatformConfig, *, force: bool, reason: str, now: Any = None) -> bool:
    """Raise unless ``config``'s previous secret may be retired now; returns whether only ``force`` allows it."""
    refuse_settings_secret(config)
    if not (config.previous_intercom_secret_id or config.encrypted_previous_secret):
        raise SecretProvisioningRefused(gettext("%(config)s has no previous secret to retire.") % {"config": config})
    if config.pending_secret_name:
        raise SecretProvisioningRefused(
            gettext("%(config)s has a secret creation under way in Intercom: finish it first.") % {"config": config}
        )
    if force and not reason.strip():
        raise ReasonRequired(gettext("A forced change needs a written reason."))
    until = retire_deadline(config)
    early = until is not None and (now or timezone.now()) < until
    if early and not force:
        raise RetireTooEarly(
            gettext(
                "The previous secret of %(config)s stays accepted until %(until)s UTC "
                "(INTERCOM_IDENTITY_SECRET_RETIRE_AFTER_HOURS = %(hours)d): apps still sending hashes made with it "
                "need that time. Retire it then, or now with --force --reason."
            )
            % {"config": config, "until": f"{until:%Y-%m-%d %H:%M}", "hours": conf.SECRET_RETIRE_AFTER_HOURS}
        )
    return early


def forget_previous_secret(config: PlatformConfig, *, actor: Any = None, reason: str = "", force: bool = False) -> str:
    """Forget the previous secret and its Intercom id (Intercom deleted it); returns that id ("" unknown)."""
    with transaction.atomic():
        locked = locked_config(config)
        forced = check_retirement(locked, force=force, reason=reason)
        previous_id = locked.previous_intercom_secret_id
        PlatformConfig.objects.filter(pk=locked.pk).update(encrypted_previous_secret="", previous_intercom_secret_id="")
        config_changed()
        write_audit_event(
            locked,
            AuditEvent.Kind.INTERCOM_SECRET,
            previous_id,
            "",
            actor=actor,
            reason=reason or "previous secret retired",
            forced=forced,
        )
    config.refresh_from_db()
    return previous_id


def record_orphan_deleted(config: PlatformConfig, intercom_id: str, *, actor: Any = None) -> None:
    """Audit that a secret Intercom made for an unfinished creation (never stored here) was deleted there."""
    with transaction.atomic():
        locked = locked_config(config)
        write_audit_event(
            locked,
            AuditEvent.Kind.INTERCOM_SECRET,
            intercom_id,
            "",
            actor=actor,
            reason="deleted in Intercom: made by an unfinished creation, never stored here",
        )

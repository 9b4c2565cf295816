"""Changing a configuration under the rollout rules.

Every change of a secret, phase, credential mode or minimum sending version goes through
this module, which applies it on a locked row and writes one ``AuditEvent`` in the same
transaction, whoever asked (admin, command, code). Moving to ``enforced`` is guarded by
adoption: the share of active users whose app version sends the credential.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .activity import adoption, clean_min_version
from .adoption import Adoption
from .configcache import config_changed
from .exceptions import IntercomIdentityError, PhaseRequiresSecret, SecretUnavailable
from .models import AuditEvent, CredentialMode, PlatformConfig, RolloutPhase
from .services import parse_mode, parse_phase
from .text import clean_audit_reason

logger = logging.getLogger(__name__)


class EnforcementBlocked(IntercomIdentityError):
    """Adoption is below the threshold: enforcing now would lock out too many users."""

    def __init__(self, config: PlatformConfig, adoption: Adoption) -> None:
        self.adoption = adoption
        super().__init__(
            f"Refusing to enforce {config}: {adoption.describe()}. "
            "Wait for more users to update, or force it with a written reason."
        )


class ReasonRequired(IntercomIdentityError, ValueError):
    """A forced change was asked for without saying why."""


class SecretManagedBySettings(IntercomIdentityError):
    """The pair's secret comes from INTERCOM_IDENTITY_SECRETS, so it cannot be stored here."""


class RotationFailed(IntercomIdentityError):
    """Some stored values cannot be decrypted with the configured keys, so none were rotated."""


def actor_label(actor: Any) -> str:
    """Who made a change, as text that outlives the user row."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        return str(actor.get_username())
    try:
        return f"command line ({getpass.getuser()})"
    except (OSError, KeyError):
        return "command line"


def _audit(
    config: PlatformConfig,
    kind: str,
    previous: str,
    new: str,
    *,
    actor: Any,
    reason: str = "",
    forced: bool = False,
    readiness: Adoption | None = None,
) -> AuditEvent:
    # Whoever asked (admin, command, code), the reason is stored only as the rule allows; raising
    # here rolls the change back with the audit row it would have had.
    reason = clean_audit_reason(reason)
    # The caller's readiness when it has one (a ratio of None, "nobody active", is an answer too).
    adoption_ratio = (readiness or adoption(config, with_daily=False)).ratio
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor),
        environment=config.environment.slug,
        platform=config.platform,
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
    if config.managed_by_settings:
        raise SecretManagedBySettings(
            f"The secret of {config} is managed by settings (INTERCOM_IDENTITY_SECRETS): change it there."
        )
    with transaction.atomic():
        locked = PlatformConfig.objects.select_for_update().select_related("environment").get(pk=config.pk)
        previous = locked.secret_fingerprint
        locked.set_secret(secret)
        locked.save(
            update_fields=[
                "encrypted_secret",
                "encrypted_previous_secret",
                "secret_fingerprint",
                "secret_set_at",
                "updated_at",
            ]
        )
        _audit(locked, AuditEvent.Kind.SECRET, previous, locked.secret_fingerprint, actor=actor, reason=reason)
    config.refresh_from_db()
    return config.secret_fingerprint


def clear_secret(config: PlatformConfig, *, actor: Any = None, reason: str = "") -> str:
    """Delete the stored secret (and the kept previous one); returns the fingerprint it had.

    Allowed while the phase is ``off``, or when settings supply the secret (the stored one is
    then unused, and must go: it would silently come back if the settings entry did).
    """
    with transaction.atomic():
        locked = PlatformConfig.objects.select_for_update().select_related("environment").get(pk=config.pk)
        if locked.phase != RolloutPhase.OFF and not locked.managed_by_settings:
            raise PhaseRequiresSecret(
                f"{config} is in phase '{locked.phase}': move it to 'off' before clearing its secret."
            )
        previous = locked.secret_fingerprint
        if locked.encrypted_secret or locked.encrypted_previous_secret:
            PlatformConfig.objects.filter(pk=locked.pk).update(
                encrypted_secret="", encrypted_previous_secret="", secret_fingerprint="", secret_set_at=None
            )
            config_changed()
            _audit(locked, AuditEvent.Kind.SECRET, previous, "", actor=actor, reason=reason or "stored secret cleared")
    config.refresh_from_db()
    return previous


def change_phase(
    config: PlatformConfig,
    phase: RolloutPhase | str,
    *,
    actor: Any = None,
    reason: str = "",
    force: bool = False,
) -> RolloutPhase:
    """Move ``config`` to ``phase`` under the rules; returns the phase it had before.

    A phase other than ``off`` needs a stored secret (``PhaseRequiresSecret``). Moving to
    ``enforced`` needs adoption at or above ``INTERCOM_IDENTITY_ENFORCE_THRESHOLD``
    (``EnforcementBlocked``) unless ``force`` with a ``reason``; going back is always allowed.
    """
    target = parse_phase(phase)
    if force and not reason.strip():
        raise ReasonRequired("A forced change needs a written reason.")

    def check(locked: PlatformConfig, readiness: Adoption) -> bool:
        """Raise when the move is not allowed; True when it goes through only because it is forced."""
        if target.needs_secret and not locked.has_secret:
            raise PhaseRequiresSecret(f"{config} has no stored secret: store one before moving it to '{target.value}'.")
        if target is RolloutPhase.ENFORCED and locked.phase != target and not readiness.meets_threshold:
            if not force:
                raise EnforcementBlocked(locked, readiness)
            return True
        return False

    previous = _change_field(config, "phase", target, check, stamp="phase_changed_at", actor=actor, reason=reason)
    return RolloutPhase(previous)


def change_mode(
    config: PlatformConfig, mode: CredentialMode | str, *, actor: Any = None, reason: str = ""
) -> CredentialMode:
    """Switch the credential ``config`` hands out (``user_hash`` or ``jwt``); returns the previous mode."""
    return CredentialMode(_change_field(config, "credential_mode", parse_mode(mode), actor=actor, reason=reason))


def set_min_sending_version(config: PlatformConfig, version: str, *, actor: Any = None, reason: str = "") -> str:
    """Mark app versions from ``version`` on as credential-sending ("" clears it); returns the previous one."""
    version = clean_min_version(version) if version else ""
    return _change_field(config, "min_sending_version", version, actor=actor, reason=reason)


def _change_field(
    config: PlatformConfig,
    field: str,
    value: str,
    check: Callable[[PlatformConfig, Adoption], bool] | None = None,
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
        locked = PlatformConfig.objects.select_for_update().select_related("environment").get(pk=config.pk)
        previous = str(getattr(locked, field))
        readiness = adoption(locked, with_daily=False)
        forced = check(locked, readiness) if check is not None else False
        if previous != value:
            setattr(locked, field, value)
            fields = [field, "updated_at"]
            if stamp:
                setattr(locked, stamp, timezone.now())
                fields.append(stamp)
            locked.save(update_fields=fields)
            _audit(
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


def audit_history(*, environment: str | None = None, platform: str | None = None) -> list[dict[str, Any]]:
    """The audit trail, newest first, as plain data (for the command's ``--json``)."""
    events = AuditEvent.objects.all()
    if environment:
        events = events.filter(environment=environment)
    if platform:
        events = events.filter(platform=platform)
    return [
        {
            "at": event.created_at.isoformat(),
            "actor": event.actor_label,
            "environment": event.environment,
            "platform": event.platform,
            "kind": event.kind,
            "from": event.from_value,
            "to": event.to_value,
            "adoption_ratio": event.adoption_ratio,
            "reason": event.reason,
            "forced": event.forced,
        }
        for event in events
    ]


ENCRYPTED_FIELDS = ("encrypted_secret", "encrypted_previous_secret")


def rotate_encryption() -> int:
    """Re-encrypt every stored secret (and kept previous secret) with the first configured key.

    All or nothing: every value is re-encrypted first, and if a secret in use cannot be
    decrypted with the configured keys, ``RotationFailed`` names the rows and nothing is
    written. A kept previous secret (diagnosis only) or the unused stored secret of a pair
    managed by settings that cannot be decrypted is left as it is and logged, rather than
    blocking the rotation for good. Returns the number of rows rotated; the secrets, and so
    every hash, stay the same. An invalid key is reported as such (``EncryptionKeyInvalid``).
    """
    crypto.fernet()  # an invalid or missing key is its own error, not "these rows cannot be decrypted"
    with transaction.atomic():
        configs = list(PlatformConfig.objects.select_for_update().select_related("environment").order_by("pk"))
        rotated: list[tuple[PlatformConfig, dict[str, str]]] = []
        unreadable: list[str] = []
        for config in configs:
            values = {}
            for field in ENCRYPTED_FIELDS:
                token = getattr(config, field)
                if not token:
                    continue
                try:
                    values[field] = crypto.rotate(token)
                except SecretUnavailable:
                    if field == "encrypted_secret" and not config.managed_by_settings:
                        unreadable.append(str(config))
                    else:
                        logger.warning("Left an unreadable %s of %s as it is (not in use).", field, config)
            if values:
                rotated.append((config, values))
        if unreadable:
            raise RotationFailed(
                "Nothing was rotated: the secrets of these cannot be decrypted with the configured keys: "
                + ", ".join(unreadable)
                + ". Add the key they were encrypted with to INTERCOM_IDENTITY_ENCRYPTION_KEYS and run it again."
            )
        for config, values in rotated:
            PlatformConfig.objects.filter(pk=config.pk).update(**values)
        config_changed()
    logger.info("Re-encrypted the secrets of %d platform configurations with the first key.", len(rotated))
    return len(rotated)

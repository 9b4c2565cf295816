"""Changing a configuration under the rollout rules, and measuring readiness.

Every change of a secret, phase, credential mode or minimum sending version goes through
this module, which applies it on a locked row and writes one ``AuditEvent`` in the same
transaction, whoever asked (admin, command, code). Moving to ``enforced`` is guarded by
adoption: the share of active users whose app version sends the credential.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Count
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .adoption import Adoption, at_least, daily_points, version_shares
from .conf import conf
from .exceptions import IntercomIdentityError, PhaseRequiresSecret
from .models import AppVersion, AuditEvent, ClientActivity, CredentialMode, DailyActivity, PlatformConfig, RolloutPhase
from .services import get_platform_config, parse_mode, parse_phase, parse_platform

logger = logging.getLogger(__name__)

MAX_VERSION_LENGTH = 64


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
    adoption_ratio: float | None = None,
) -> AuditEvent:
    if adoption_ratio is None:
        adoption_ratio = adoption(config, with_daily=False).ratio
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


@sensitive_variables("secret")
def store_secret(config: PlatformConfig, secret: str, *, actor: Any = None, reason: str = "") -> str:
    """Validate, encrypt and save a new secret for ``config``; returns its fingerprint.

    The audit trail records the fingerprints, never the secret.
    """
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
    version = clean_version(version) if version else ""
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
                adoption_ratio=readiness.ratio,
            )
    config.refresh_from_db()
    return previous


# --- adoption ------------------------------------------------------------------------


def adoption(
    config: PlatformConfig, *, days: int = 30, now: datetime | None = None, with_daily: bool = True
) -> Adoption:
    """Adoption for one (environment, platform) over the last ``days`` days, with its daily series.

    The guard and the audit only need the ratio (``with_daily=False``): that is one grouped
    index-only scan of ``ClientActivity``; the series adds one over ``DailyActivity``.
    """
    now = now or timezone.now()
    since = now - timedelta(days=days)
    versions = {
        v.version: v for v in AppVersion.objects.filter(environment_id=config.environment_id, platform=config.platform)
    }
    minimum = config.min_sending_version

    def sends_on(version: str, day: date) -> bool:
        """Sending on ``day``: a request of it got a credential by then, or it is at least the minimum."""
        known = versions.get(version)
        started = known.first_credential_at if known is not None else None
        return (started is not None and started.date() <= day) or at_least(version, minimum)

    counts = dict(
        ClientActivity.objects.filter(
            environment_id=config.environment_id, platform=config.platform, last_seen_at__gte=since
        )
        .values_list("version")
        .annotate(users=Count("*"))
        .order_by()
    )
    first_day = now.date() - timedelta(days=days - 1)
    rows = (
        DailyActivity.objects.filter(environment_id=config.environment_id, platform=config.platform, day__gte=first_day)
        .values_list("day", "version")
        .annotate(users=Count("*"))
        .order_by()
        if with_daily
        else []
    )
    return Adoption(
        environment=config.environment.slug,
        platform=config.platform,
        days=days,
        threshold=conf.ENFORCE_THRESHOLD,
        versions=version_shares(counts, lambda version: sends_on(version, now.date())),
        daily=daily_points(rows, [first_day + timedelta(days=n) for n in range(days)], sends_on) if with_daily else (),
    )


def clean_version(value: str) -> str:
    """An app version as recorded: stripped, at most 64 printable characters; ValueError otherwise."""
    version = value.strip()
    if not version or len(version) > MAX_VERSION_LENGTH or not version.isprintable():
        raise ValueError(f"An app version is 1 to {MAX_VERSION_LENGTH} printable characters, e.g. '5.2.0'.")
    return version


def record_client(
    user: Any,
    platform: str,
    app_version: str | None,
    *,
    sent_credential: bool,
    environment: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Count ``user`` as active on ``app_version`` of ``platform``; returns whether it wrote.

    Call it from every app version's login view (old versions never reach the hash
    endpoint); the JSON view calls it with the ``X-App-Version`` header. At most one write
    per (user, platform, version) and hour, remembered in the cache; the writes are upserts,
    so counts stay exact even when the cache forgets. A missing or malformed version, an
    anonymous user or a database error is logged and ignored: recording never fails a login.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not app_version:
        return False
    try:
        version = clean_version(app_version)
        config = get_platform_config(parse_platform(platform), environment)
    except (ValueError, IntercomIdentityError) as exc:
        logger.warning("Client version not recorded: %s", exc)
        return False
    now = now or timezone.now()
    seen_key = f"intercom_identity:seen:{config.environment_id}:{config.platform}:{user.pk}:{version}:{now:%Y%m%d%H}"
    credential_key = f"intercom_identity:sends:{config.environment_id}:{config.platform}:{version}"
    wrote = False
    try:
        if _cache_add(seen_key, timeout=3600):
            _write_activity(config, user, version, sent_credential, now)
            wrote = True
        if sent_credential and _cache_add(credential_key, timeout=None):
            _mark_sending(config, version, now)
            wrote = True
    except DatabaseError:
        logger.exception("Client version not recorded (database error).")
        cache.delete_many([seen_key, credential_key])
        return False
    return wrote


def _cache_add(key: str, *, timeout: int | None) -> bool:
    """``cache.add``; a cache that is down counts as "not seen yet" (the upserts keep counts exact)."""
    try:
        return bool(cache.add(key, 1, timeout=timeout))
    except Exception:
        logger.warning("Cache unavailable while recording a client version; writing through.")
        return True


def _write_activity(config: PlatformConfig, user: Any, version: str, sent_credential: bool, now: datetime) -> None:
    with transaction.atomic():
        AppVersion.objects.bulk_create(
            [
                AppVersion(
                    environment_id=config.environment_id, platform=config.platform, version=version, first_seen_at=now
                )
            ],
            ignore_conflicts=True,
        )
        ClientActivity.objects.bulk_create(
            [
                ClientActivity(
                    environment_id=config.environment_id,
                    platform=config.platform,
                    user=user,
                    version=version,
                    sent_credential=sent_credential,
                    last_seen_at=now,
                )
            ],
            update_conflicts=True,
            unique_fields=["environment", "platform", "user"],
            update_fields=["version", "sent_credential", "last_seen_at"],
        )
        DailyActivity.objects.bulk_create(
            [
                DailyActivity(
                    environment_id=config.environment_id,
                    platform=config.platform,
                    user=user,
                    day=now.date(),
                    version=version,
                )
            ],
            update_conflicts=True,
            unique_fields=["environment", "platform", "user", "day"],
            update_fields=["version"],
        )


def _mark_sending(config: PlatformConfig, version: str, now: datetime) -> None:
    with transaction.atomic():
        AppVersion.objects.bulk_create(
            [
                AppVersion(
                    environment_id=config.environment_id, platform=config.platform, version=version, first_seen_at=now
                )
            ],
            ignore_conflicts=True,
        )
        AppVersion.objects.filter(
            environment_id=config.environment_id, platform=config.platform, version=version, first_credential_at=None
        ).update(first_credential_at=now)


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

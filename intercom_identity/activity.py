"""Recording which app version each user runs: the activity rows, the tallies kept in step
with them, and the memory that spares repeated writes.

``record`` keeps one ``ClientActivity`` row per user (the latest version) and one
``DailyActivity`` row per user and day, and moves the matching ``VersionTally`` counts in
the same transaction, so adoption reads at most days x versions tally rows, exactly.
Days are UTC calendar days.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import date, datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import DatabaseError, IntegrityError, InterfaceError, transaction
from django.db.models import F
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from . import outages, versions
from ._deprecation import moved_names
from .cacheguard import CacheUnavailable, cache
from .configcache import ServingConfig, get_serving_config
from .exceptions import IntercomIdentityError
from .models import AppVersion, ClientActivity, DailyActivity, VersionTally

logger = logging.getLogger(__name__)

SENDING_MEMORY = 24 * 3600  # how long "this version already sends" spares a write
SEEN_MEMORY = 3600  # one write per (user, platform, version) and hour
LATEST, DAILY = VersionTally.Kind.LATEST, VersionTally.Kind.DAILY


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
    endpoint). A missing or malformed version, an anonymous user, an unknown platform or
    environment or a database error while writing is logged and ignored: recording never
    fails a login.
    """
    if not _countable(user, app_version):
        return False
    try:
        versions.clean_version(app_version or "")  # a bad version costs no lookup
        config = get_serving_config(platform, environment)
    except (ValueError, IntercomIdentityError) as exc:
        logger.warning("Client version not recorded: %s", exc)
        return False
    return record(config, user, app_version, sent_credential=sent_credential, now=now)


def record(
    config: ServingConfig, user: Any, app_version: str | None, *, sent_credential: bool, now: datetime | None = None
) -> bool:
    """``record_client`` under a configuration already loaded (the serving path has it).

    At most one write per (user, platform, version) and hour, remembered in the cache; the
    writes are exact whatever the cache remembers.
    """
    if not _countable(user, app_version):
        return False
    try:
        version = versions.clean_version(app_version or "")
    except ValueError as exc:
        logger.warning("Client version not recorded: %s", exc)
        return False
    now = (now or timezone.now()).astimezone(dt_timezone.utc)  # tallies are per UTC day
    seen_key = f"intercom_identity:seen:{config.environment_id}:{config.platform}:{user.pk}:{version}:{now:%Y%m%d%H}"
    credential_key = f"intercom_identity:sends:{config.environment_id}:{config.platform}:{version}"
    wrote = False
    memories = {seen_key: SEEN_MEMORY}
    if sent_credential:
        memories[credential_key] = SENDING_MEMORY
    remembered = _remembered(memories)
    try:
        if seen_key not in remembered:
            _write_activity(config, user, version, sent_credential, now)
            _remember_on_commit(seen_key, timeout=SEEN_MEMORY)
            wrote = True
        if sent_credential and credential_key not in remembered:
            _mark_sending(config, version, now)
            _remember_on_commit(credential_key, timeout=SENDING_MEMORY)
            wrote = True
    except (DatabaseError, InterfaceError) as exc:
        outages.DATABASE.failed(exc, "client versions are not recorded")
        return False
    if wrote:
        outages.DATABASE.available()
    return wrote


def _countable(user: Any, app_version: str | None) -> bool:
    """A signed-in user and some version: anything else is not counted, silently."""
    return user is not None and getattr(user, "is_authenticated", False) and bool(app_version)


# What this process itself remembers (key -> expiry), so that steady-state recording costs
# no cache round trip either. Bounded: emptied when full (it only spares writes).
PROCESS_MEMORY_SIZE = 10_000
_process_memory: dict[str, float] = {}


def _remembered(memories: dict[str, int]) -> set[str]:
    """Which of the keys (each with how long it is remembered) were remembered: by this
    process, else by the cache (one round trip). A cache that is down remembers nothing
    (the writes stay exact)."""
    now = time.monotonic()
    known = {key for key in memories if _process_memory.get(key, 0.0) > now}
    missing = [key for key in memories if key not in known]
    if not missing:
        return known
    try:
        found = set(cache.get_many(missing))
    except CacheUnavailable:
        return known
    for key in found:
        _keep(key, timeout=memories[key])
    return known | found


def _keep(key: str, *, timeout: int) -> None:
    if len(_process_memory) >= PROCESS_MEMORY_SIZE:
        _process_memory.clear()
    _process_memory[key] = time.monotonic() + timeout


def forget_recordings() -> None:
    """Empty this process's memory of recordings (the cache's is untouched)."""
    _process_memory.clear()


def _remember_on_commit(key: str, *, timeout: int) -> None:
    """Remember a write only once it is committed: a rolled-back write must be retried."""

    def remember() -> None:
        _keep(key, timeout=timeout)
        with contextlib.suppress(CacheUnavailable):  # then the next request writes again
            cache.set(key, 1, timeout=timeout)

    transaction.on_commit(remember)


def _write_activity(config: ServingConfig, user: Any, version: str, sent_credential: bool, now: datetime) -> None:
    """Upsert the user's rows and move their tallies, under a lock on the user's latest row."""
    scope = {"environment_id": config.environment_id, "platform": config.platform}
    day = now.date()
    with transaction.atomic():
        AppVersion.objects.bulk_create([AppVersion(**scope, version=version, first_seen_at=now)], ignore_conflicts=True)
        latest = _locked_or_created(
            ClientActivity,
            dict(scope, user=user),
            dict(version=version, sent_credential=sent_credential, last_seen_at=now),
        )
        moves: list[tuple[str, date, str, int]] = []
        if latest is None:
            moves.append((LATEST, day, version, +1))
        elif now >= latest.last_seen_at:  # an older, late report never replaces a newer one
            previous_day = utc_day(latest.last_seen_at)
            if (latest.version, previous_day) != (version, day):
                moves += [(LATEST, previous_day, latest.version, -1), (LATEST, day, version, +1)]
            ClientActivity.objects.filter(pk=latest.pk).update(
                version=version, sent_credential=sent_credential, last_seen_at=now
            )
        daily = _locked_or_created(DailyActivity, dict(scope, user=user, day=day), dict(version=version))
        if daily is None:
            moves.append((DAILY, day, version, +1))
        elif daily.version != version:
            moves += [(DAILY, day, daily.version, -1), (DAILY, day, version, +1)]
            DailyActivity.objects.filter(pk=daily.pk).update(version=version)
        # Always in the same order, so two users switching A->B and B->A at once cannot deadlock.
        for kind, tally_day, tally_version, delta in sorted(moves):
            _bump(scope, kind, tally_day, tally_version, delta)


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of an aware datetime: tallies are per UTC day whatever TIME_ZONE says."""
    return moment.astimezone(dt_timezone.utc).date()


def _locked_or_created(model: Any, key: dict[str, Any], values: dict[str, Any]) -> Any:
    """The existing row for ``key``, locked; or None after creating it with ``values``.

    Two requests of one user racing to create the row: the loser's insert fails inside a
    savepoint and it takes the winner's row, locked, as the existing one.
    """
    existing = model.objects.select_for_update().filter(**key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            model.objects.create(**key, **values)
    except IntegrityError:
        return model.objects.select_for_update().get(**key)
    return None


def _bump(scope: dict[str, Any], kind: str, day: date, version: str, delta: int) -> None:
    """Add ``delta`` users to one tally, atomically (an UPDATE, or an INSERT the first time).

    A decrement only ever updates: the tally it undoes exists, unless it is being deleted
    with its environment, and then there is nothing left to correct.
    """
    tally = VersionTally.objects.filter(**scope, kind=kind, day=day, version=version)
    if tally.update(users=F("users") + delta) or delta < 0:
        return
    try:
        with transaction.atomic():
            VersionTally.objects.create(**scope, kind=kind, day=day, version=version, users=delta)
    except IntegrityError:  # created meanwhile by another request
        tally.update(users=F("users") + delta)


def _mark_sending(config: ServingConfig, version: str, now: datetime) -> None:
    scope = {"environment_id": config.environment_id, "platform": config.platform}
    with transaction.atomic():
        AppVersion.objects.bulk_create([AppVersion(**scope, version=version, first_seen_at=now)], ignore_conflicts=True)
        AppVersion.objects.filter(**scope, version=version, first_credential_at=None).update(first_credential_at=now)


@receiver(post_delete, sender=ClientActivity, dispatch_uid="intercom_identity.untally_latest")
def _untally_latest(sender: Any, instance: ClientActivity, **kwargs: Any) -> None:
    """A deleted user (the rows cascade) leaves the counts too."""
    scope = {"environment_id": instance.environment_id, "platform": instance.platform}
    _bump(scope, LATEST, utc_day(instance.last_seen_at), instance.version, -1)


@receiver(post_delete, sender=DailyActivity, dispatch_uid="intercom_identity.untally_daily")
def _untally_daily(sender: Any, instance: DailyActivity, **kwargs: Any) -> None:
    scope = {"environment_id": instance.environment_id, "platform": instance.platform}
    _bump(scope, DAILY, instance.day, instance.version, -1)


# Names that moved out (their old path still works, with a DeprecationWarning).
__getattr__ = moved_names(
    "intercom_identity.activity",
    {
        "adoption": "intercom_identity.adoption",
        "clean_version": "intercom_identity.versions",
        "clean_min_version": "intercom_identity.versions",
        "MAX_VERSION_LENGTH": "intercom_identity.versions",
        "recount": "intercom_identity.maintenance",
    },
)

"""Recording which app version each user runs: the activity rows, the tallies kept in step
with them in the same transaction, the memory that spares repeated writes, and erasure
(``forget_user``)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, When
from django.utils import timezone
from django.utils.crypto import salted_hmac

from intercom_identity._internal import outages
from intercom_identity._internal.cacheguard import CacheUnavailable, cache
from intercom_identity._internal.configcache import ServingConfig, get_serving_config
from intercom_identity.conf import conf
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.models import AppVersion, ClientActivity, DailyActivity, Platform, VersionTally
from intercom_identity.rollout import retention, versions
from intercom_identity.validators import clean_version

logger = logging.getLogger("intercom_identity.activity")

SENDING_MEMORY = 24 * 3600  # how long "this version already sends" spares a write
SEEN_MEMORY = 3600  # one write per (user, platform, version) and hour (and one more for a credential)
LATEST, DAILY = VersionTally.Kind.LATEST, VersionTally.Kind.DAILY


def record_client(
    user: Any,
    platform: str,
    app_version: str | None,
    *,
    environment: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Count ``user`` as active on ``app_version`` of ``platform``, seen *without* the credential;
    returns whether it wrote.

    Call it from every app version's login view (old versions never reach the hash
    endpoint). It takes no word about a credential: only the server's own issuance
    (``serve_identity``, the JSON view, the template tags) is evidence that one was received.
    A missing or malformed version, an anonymous user, an unknown platform or environment or
    a database error while writing is logged and ignored: recording never fails a login.
    """
    if not _countable(user, app_version):
        return False
    try:
        clean_version(app_version or "")  # a bad version costs no lookup
    except ValueError as exc:
        logger.debug("Client version not recorded: %s", exc)
        return False
    try:
        config = get_serving_config(platform, environment)
    except IntercomIdentityError as exc:
        logger.warning("Client version not recorded: %s", exc)
        return False
    return record(config, user, app_version, sent_credential=False, now=now)


def record(
    config: ServingConfig, user: Any, app_version: str | None, *, sent_credential: bool, now: datetime | None = None
) -> bool:
    """``record_client`` under a configuration already loaded (the serving path has it), with
    whether the server itself just handed ``user`` a credential (never a caller's claim).

    At most one write per (user, platform, version) and hour, plus one when that hour is
    the first to hand the user a credential on it, remembered in the cache; the writes are
    exact whatever the cache remembers. A malformed version, a report older than the
    retention and a new version beyond the user's daily allowance are skipped (debug log).
    """
    pending = _pending(config, user, app_version, sent_credential=sent_credential, now=now)
    return False if pending is None else _write(pending)


async def arecord(
    config: ServingConfig, user: Any, app_version: str | None, *, sent_credential: bool, now: datetime | None = None
) -> bool:
    """``record`` for async code: what decides whether to write is in this process or the cache
    (no thread hop on the warm path); only a write goes to a worker thread (``sync_to_async``)."""
    pending = _pending(config, user, app_version, sent_credential=sent_credential, now=now)
    return False if pending is None else await sync_to_async(_write)(pending)


def record_page(config: ServingConfig, user: Any, *, sent_credential: bool, now: datetime | None = None) -> bool:
    """Count a web page rendered by the tags for ``user`` (the web client with no build number),
    and whether the page was handed the credential: web readiness's evidence.

    The same path as ``record``, at most one write per user and hour (one more for the first
    credential). A page view on the warm path (this user's page already recorded this hour) writes
    nothing; in the process that recorded it, it costs no query and no cache round trip either (in
    another, one round trip). Pages and a single-page app's builds are separate clients: a user who
    uses both is recorded on each at most once an hour, on whichever wrote last.
    """
    pending = _page_pending(config, user, sent_credential=sent_credential, now=now)
    return False if pending is None else _write(pending)


async def arecord_page(config: ServingConfig, user: Any, *, sent_credential: bool, now: datetime | None = None) -> bool:
    """``record_page`` for async code (``aprepare_messenger``): a write in a worker thread only."""
    pending = _page_pending(config, user, sent_credential=sent_credential, now=now)
    return False if pending is None else await sync_to_async(_write)(pending)


def _page_pending(config: ServingConfig, user: Any, *, sent_credential: bool, now: datetime | None) -> _Pending | None:
    if config.platform != Platform.WEB or user is None or not getattr(user, "is_authenticated", False):
        return None
    return _version_pending(config, user, versions.WEB_PAGE, sent_credential=sent_credential, now=now)


@dataclass(frozen=True)
class _Pending:
    """A recording that no memory spares: what ``_write`` needs."""

    config: ServingConfig
    user: Any
    version: str
    sent_credential: bool
    now: datetime
    seen: str
    seen_key: str
    credential_key: str
    latest_key: str
    mark_sending: bool


def _pending(
    config: ServingConfig, user: Any, app_version: str | None, *, sent_credential: bool, now: datetime | None
) -> _Pending | None:
    """The write ``record`` has to make, or None (nothing to count, refused, or remembered)."""
    if not _countable(user, app_version):
        return None
    try:
        version = clean_version(app_version or "")
    except ValueError as exc:
        logger.debug("Client version not recorded: %s", exc)
        return None
    return _version_pending(config, user, version, sent_credential=sent_credential, now=now)


def _version_pending(
    config: ServingConfig, user: Any, version: str, *, sent_credential: bool, now: datetime | None
) -> _Pending | None:
    """``_pending`` once the version is known to be recordable."""
    now = (now or timezone.now()).astimezone(dt_timezone.utc)  # tallies are per UTC day
    try:
        if now.date() < retention.cutoff_day():
            logger.debug("Client version not recorded: the report is older than the activity retention.")
            return None
    except ImproperlyConfigured as exc:  # reported by the system checks too
        logger.error("Client version not recorded: %s", exc)
        return None
    if _flood_refused(config, user, version, now):
        return None
    seen = _seen_key(config.environment_id, config.platform, user.pk, version, now)
    # A request handed a credential has its own key: it is evidence a plain request is not.
    seen_key = seen + ":credential" if sent_credential else seen
    credential_key = f"intercom_identity:sends:{config.environment_id}:{config.platform}:{version}"
    memories = {seen_key: SEEN_MEMORY}
    if sent_credential:
        memories[credential_key] = SENDING_MEMORY
    remembered = _remembered(memories)
    latest_key = _latest_key(config.environment_id, config.platform, user.pk)
    if seen_key in remembered and (version == versions.WEB_PAGE or _still_latest(latest_key, version)):
        return None  # a page has no versions to flip between: seen this hour is enough
    mark_sending = sent_credential and credential_key not in remembered
    return _Pending(
        config, user, version, sent_credential, now, seen, seen_key, credential_key, latest_key, mark_sending
    )


def _write(pending: _Pending) -> bool:
    try:
        wrote = _write_activity(
            pending.config,
            pending.user,
            pending.version,
            pending.sent_credential,
            pending.now,
            mark_sending=pending.mark_sending,
        )
    except (DatabaseError, InterfaceError) as exc:
        outages.DATABASE.failed(exc, "client versions are not recorded")
        return False
    except ImproperlyConfigured as exc:  # reported by the system checks too
        logger.error("Client version not recorded: %s", exc)
        return False
    if not wrote:  # refused: remembering a flood's versions would only crowd out the others
        return False
    outages.DATABASE.available()
    # A credential covers plain requests.
    for key in (pending.seen_key, pending.seen) if pending.sent_credential else (pending.seen_key,):
        _remember_on_commit(key, timeout=SEEN_MEMORY)
    if pending.mark_sending:
        _remember_on_commit(pending.credential_key, timeout=SENDING_MEMORY)
    if pending.version != versions.WEB_PAGE:  # builds track builds: a page between them is another client
        _remember_on_commit(pending.latest_key, timeout=SEEN_MEMORY, value=_pseudonym(pending.version))
    return True


def _still_latest(latest_key: str, version: str) -> bool:
    """Whether the last build written for this user (by any process) is ``version``: only
    then may an already-seen report be skipped, so A -> B -> A within the hour ends on A.
    Web pages are another client, with no versions: they neither ask nor move it.

    Asked of the shared cache every time (one round trip, no query): a process's own memory
    cannot know that another process wrote B meanwhile. A cache that is down or has forgotten
    says no, and the report is written (exact, as ever)."""
    try:
        return bool(cache.get(latest_key) == _pseudonym(version))
    except CacheUnavailable:
        return False


def _countable(user: Any, app_version: str | None) -> bool:
    """A signed-in user and some version: anything else is not counted, silently."""
    return user is not None and getattr(user, "is_authenticated", False) and bool(app_version)


# What this process itself remembers (key -> expiry), so that steady-state recording asks the
# cache nothing but whether a build is still the user's latest (``_still_latest``; a page not even
# that). Bounded: emptied when full (it only spares writes).
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
    _known_versions.clear()


def _remember_on_commit(key: str, *, timeout: int, value: str | None = None) -> None:
    """Remember a write only once it is committed: a rolled-back write must be retried.

    With a ``value`` (the user's latest version) only the shared cache keeps it."""

    def remember() -> None:
        if value is None:
            _keep(key, timeout=timeout)
        with contextlib.suppress(CacheUnavailable):  # then the next request writes again
            cache.set(key, 1 if value is None else value, timeout=timeout)

    transaction.on_commit(remember)


def _write_activity(
    config: ServingConfig, user: Any, version: str, sent_credential: bool, now: datetime, *, mark_sending: bool
) -> bool:
    """Upsert the user's rows and move their tallies, under a lock on the user's latest row.

    Returns False, writing nothing, when ``version`` is new and the user has introduced
    their allowance of new versions today.
    """
    scope = {"environment_id": config.environment_id, "platform": config.platform}
    known = AppVersion.objects.filter(**scope, version=version).exists()
    if not known and _over_allowance_remembered(user, now):
        _keep(_checked_key(user), timeout=1)
        return False
    try:
        with transaction.atomic():
            _write_locked(config, scope, user, version, sent_credential, now, known=known, mark_sending=mark_sending)
    except _Refused:
        _remember_on_commit(_allowance_key(user, now), timeout=_seconds_left_today(now))
        _keep(_checked_key(user), timeout=1)
        return False
    return True


class _Refused(Exception):
    """A new version beyond the user's daily allowance: the transaction writes nothing."""


def _write_locked(
    config: ServingConfig,
    scope: dict[str, Any],
    user: Any,
    version: str,
    sent_credential: bool,
    now: datetime,
    *,
    known: bool,
    mark_sending: bool,
) -> None:
    """The writes of ``_write_activity``, in its transaction: for a new version the user's
    row first (as ``forget_user`` locks it), then the user's latest row, then the tallies."""
    if not known and not _introduce(scope, user, version, now):
        raise _Refused
    _learn_version(config, version)
    day = now.date()
    latest = _locked_or_created(
        ClientActivity,
        dict(scope, user=user),
        dict(version=version, sent_credential=sent_credential, last_seen_at=now),
    )
    moves: dict[TallyKey, list[int]] = {}
    if latest is None:
        _move(moves, (LATEST, day, version), +1, int(sent_credential))
    elif now >= latest.last_seen_at:  # an older, late report never replaces a newer one
        previous_day = utc_day(latest.last_seen_at)
        credential = _switch(moves, LATEST, (previous_day, latest), (day, version, sent_credential))
        ClientActivity.objects.filter(pk=latest.pk).update(
            version=version, sent_credential=credential, last_seen_at=now
        )
    daily = _locked_or_created(
        DailyActivity, dict(scope, user=user, day=day), dict(version=version, sent_credential=sent_credential)
    )
    if daily is None:
        _move(moves, (DAILY, day, version), +1, int(sent_credential))
    else:
        credential = _switch(moves, DAILY, (day, daily), (day, version, sent_credential))
        if (daily.version, daily.sent_credential) != (version, credential):
            DailyActivity.objects.filter(pk=daily.pk).update(version=version, sent_credential=credential)
    if mark_sending:
        AppVersion.objects.filter(**scope, version=version, first_credential_at=None).update(first_credential_at=now)
    # Last, as the tallies are what concurrent requests share; always in the same order, so
    # two users switching A->B and B->A at once cannot deadlock.
    for (kind, tally_day, tally_version), (users, credential_users) in sorted(moves.items()):
        if users or credential_users:
            _bump(scope, kind, tally_day, tally_version, users, credential_users)


TallyKey = tuple[str, date, str]  # kind, day, version (within one scope)


def _switch(
    moves: dict[TallyKey, list[int]], kind: str, before: tuple[date, Any], after: tuple[date, str, bool]
) -> bool:
    """Move a user's count in the ``kind`` tallies from their row as it was (``(day, row)``) to
    ``(day, version, handed a credential now)``; returns whether they hold the credential after.

    Evidence sticks to the version: a later request without a credential keeps it."""
    (before_day, row), (day, version, sent_credential) = before, after
    credential = sent_credential or (row.version == version and row.sent_credential)
    if (row.version, before_day, row.sent_credential) != (version, day, credential):
        _move(moves, (kind, before_day, row.version), -1, -int(row.sent_credential))
        _move(moves, (kind, day, version), +1, int(credential))
    return bool(credential)


def _move(moves: dict[TallyKey, list[int]], key: TallyKey, users: int, credential: int) -> None:
    """Add a change of one tally to ``moves`` (a move within one tally nets out)."""
    change = moves.setdefault(key, [0, 0])
    change[0] += users
    change[1] += credential


# Versions this process has seen recorded (bounded like the memory above). A user who used
# up today's allowance of new versions is recorded only on these and on versions the
# database confirms, so the flood of one account costs no query once it is recognised.
_known_versions: set[tuple[int, str, str]] = set()


def _learn_version(config: ServingConfig, version: str) -> None:
    if len(_known_versions) >= PROCESS_MEMORY_SIZE:
        _known_versions.clear()
    _known_versions.add((config.environment_id, config.platform, version))


def _flood_refused(config: ServingConfig, user: Any, version: str, now: datetime) -> bool:
    """Refuse, without a query or a round trip, a version this process does not know from a
    user it remembers has used up today's allowance of new versions: one account's flood.

    The database is still asked at most once a second per user and process, so a version
    another process recorded is recorded for this user too, at the latest a second later.
    """
    if (config.environment_id, config.platform, version) in _known_versions:
        return False
    moment = time.monotonic()
    if _process_memory.get(_allowance_key(user, now), 0.0) <= moment:
        return False
    return _process_memory.get(_checked_key(user), 0.0) > moment


def _checked_key(user: Any) -> str:
    """Remembered for a second after the database said no to a new version of this user."""
    return _checked_key_of(user.pk)


def _checked_key_of(user_pk: Any) -> str:
    return f"intercom_identity:new-versions-checked:{_pseudonym(str(user_pk))}"


def _over_allowance_remembered(user: Any, now: datetime) -> bool:
    """Whether the cache remembers that this user used up today's allowance of new versions
    (another process found out): no need to lock and count again."""
    return _allowance_key(user, now) in _remembered({_allowance_key(user, now): _seconds_left_today(now)})


def _allowance_key(user: Any, now: datetime) -> str:
    return _allowance_key_of(user.pk, now)


def _allowance_key_of(user_pk: Any, now: datetime) -> str:
    return f"intercom_identity:new-versions-used:{_pseudonym(f'{user_pk}:{now:%Y%m%d}')}"


# The cache keys of one user's recordings hold no user id, version or hour: a keyed digest of
# them (SECRET_KEY), so the cache says nothing about who ran what once the rows are erased.
# ``forget_user`` also deletes the keys it can still name (its recent hours and today).
_PSEUDONYM_SALT = "intercom_identity.activity.cache-key"


def _pseudonym(text: str) -> str:
    """A keyed BLAKE2b digest of ``text`` (a MAC in one call: the hot path pays about a microsecond)."""
    return hashlib.blake2b(text.encode(), key=_pseudonym_key(settings.SECRET_KEY), digest_size=16).hexdigest()


@lru_cache(maxsize=4)
def _pseudonym_key(secret_key: str) -> bytes:
    """The digest's key, derived from ``SECRET_KEY`` once per process (and per key)."""
    return salted_hmac(_PSEUDONYM_SALT, "activity-cache-keys", secret=secret_key, algorithm="sha256").digest()


def _seen_key(environment_id: int, platform: str, user_pk: Any, version: str, moment: datetime) -> str:
    """One write per (user, platform, version) and hour: "seen" at ``moment``'s hour (UTC)."""
    return f"intercom_identity:seen:{_pseudonym(f'{environment_id}:{platform}:{user_pk}:{version}:{moment:%Y%m%d%H}')}"


def _latest_key(environment_id: int, platform: str, user_pk: Any) -> str:
    """The user's last written version (its digest), shared by every process: see ``_still_latest``."""
    return f"intercom_identity:latest:{_pseudonym(f'{environment_id}:{platform}:{user_pk}')}"


def _forget_cached(user_pk: Any, scopes: set[tuple[int, str, str]], now: datetime) -> None:
    """Delete the keys of a user's recordings this process can name: each (environment,
    platform, version) the rows knew, in the hours a key may still live, and today's and
    yesterday's allowance; from this process's memory too. A cache that is down keeps them
    until they expire (at most an hour; the allowance at midnight), holding no user id."""
    now = now.astimezone(dt_timezone.utc)  # as record() names the hours
    hours = (now, now - timedelta(seconds=SEEN_MEMORY))
    keys = [
        key
        for environment_id, platform, version in scopes
        for moment in hours
        for seen in (_seen_key(environment_id, platform, user_pk, version, moment),)
        for key in (seen, seen + ":credential")
    ]
    keys += [_latest_key(environment_id, platform, user_pk) for environment_id, platform, _version in scopes]
    yesterday = now - timedelta(days=1)
    keys += [_allowance_key_of(user_pk, now), _allowance_key_of(user_pk, yesterday), _checked_key_of(user_pk)]
    for key in keys:
        _process_memory.pop(key, None)
    with contextlib.suppress(CacheUnavailable):
        cache.delete_many(keys)


def _seconds_left_today(now: datetime) -> int:
    midnight = datetime.combine(now.date(), datetime.min.time(), dt_timezone.utc) + timedelta(days=1)
    return max(1, int((midnight - now).total_seconds()))


def _introduce(scope: dict[str, Any], user: Any, version: str, now: datetime) -> bool:
    """Create the ``AppVersion`` of a version nobody reported before, if ``user`` may still
    introduce one today (``INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER``); False otherwise.

    The user's row is locked while counting, so concurrent requests of one user cannot
    overshoot the allowance (``FOR NO KEY UPDATE`` on PostgreSQL: it does not block rows
    that merely reference the user).
    """
    _lock_user(user, no_key=connection.features.has_select_for_no_key_update)
    day_start = datetime.combine(now.date(), datetime.min.time(), dt_timezone.utc)
    introduced = AppVersion.objects.filter(
        first_reported_by=user, first_seen_at__gte=day_start, first_seen_at__lt=day_start + timedelta(days=1)
    ).count()
    if introduced >= conf.MAX_NEW_VERSIONS_PER_USER:
        logger.debug("Client version not recorded: this user introduced %d new versions today.", introduced)
        return False
    AppVersion.objects.bulk_create(
        [AppVersion(**scope, version=version, first_seen_at=now, first_reported_by=user)], ignore_conflicts=True
    )
    return True


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of an aware datetime: tallies are per UTC day whatever TIME_ZONE says."""
    return moment.astimezone(dt_timezone.utc).date()


def _locked_or_created(model: Any, key: dict[str, Any], values: dict[str, Any]) -> Any:
    """The existing row for ``key``, locked; or None after creating it with ``values``.

    Two requests of one user racing to create the row: the loser's insert fails inside a
    savepoint and it takes the winner's row, locked, as the existing one.
    """
    # ``get()``, not ``filter().first()``: ``first()`` adds ``ORDER BY id LIMIT 1``, and while
    # PostgreSQL's statistics miss today's rows the planner then walks the primary key through
    # all of them instead of using the unique index (benchmark 11). The constraint allows one row.
    try:
        return model.objects.select_for_update().get(**key)
    except model.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            model.objects.create(**key, **values)
    except IntegrityError:
        return model.objects.select_for_update().get(**key)
    return None


def _bump(scope: dict[str, Any], kind: str, day: date, version: str, delta: int, credential_delta: int = 0) -> None:
    """Add ``delta`` users (``credential_delta`` of them handed the credential) to one tally,
    atomically (an UPDATE, or an INSERT the first time).

    Only an increment of users creates: any other change is to a tally the user is already
    counted in, unless it was just deleted with its environment or pruned with its day, and
    then there is nothing left to correct.
    """
    tally = VersionTally.objects.filter(**scope, kind=kind, day=day, version=version)
    changes = {"users": F("users") + delta, "credential_users": F("credential_users") + credential_delta}
    if tally.update(**changes) or delta <= 0:
        return
    try:
        with transaction.atomic():
            VersionTally.objects.create(
                **scope, kind=kind, day=day, version=version, users=delta, credential_users=credential_delta
            )
    except IntegrityError:  # created meanwhile by another request
        tally.update(**changes)


def _lock_user(user: Any, *, no_key: bool) -> None:
    """Lock the user's row until the transaction ends (nothing on SQLite, which has one writer)."""
    rows = get_user_model()._base_manager.select_for_update(no_key=no_key).filter(pk=user.pk)
    list(rows.values_list("pk"))


def forget_user(user: Any) -> int:
    """Remove every activity row of ``user`` and their share of the tallies; returns the rows removed.

    For a user who asks to be forgotten without being deleted (deleting a user does the
    same, from a ``pre_delete`` handler). The tallies are corrected in a few set-based
    statements however many days the user was active, so the figures stay exact (as
    ``tallies.recount`` would rebuild them) and no per-row signal is sent.

    The user's row is locked first (``FOR UPDATE``): a request of theirs recording at the
    same moment cannot commit before this does (its new rows' foreign-key check waits for
    the lock), so it is either forgotten whole or written whole after (for a deleted user:
    refused and logged). Such a request can hold a lock this needs while it waits for the
    user's row; PostgreSQL then cancels one of the two as a deadlock within a second, and
    this retries (a cancelled recording is logged; the request is still served).
    """
    for attempt in range(FORGET_ATTEMPTS):
        try:
            with transaction.atomic():
                return _forget(user)
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK or attempt == FORGET_ATTEMPTS - 1:
                raise
            logger.info("Forgetting user %s met a request of theirs recording (deadlock); trying again.", user.pk)
    raise AssertionError("unreachable")  # pragma: no cover


FORGET_ATTEMPTS = 5
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for "deadlock detected"


def _forget(user: Any) -> int:
    """``forget_user``'s statements, in one transaction; the cache's keys once it commits."""
    _lock_user(user, no_key=False)
    latest = list(ClientActivity.objects.select_for_update().filter(user=user).order_by("pk"))
    now = timezone.now()
    recent = DailyActivity.objects.filter(user=user, day__gte=utc_day(now) - timedelta(days=1))
    scopes = {(row.environment_id, row.platform, row.version) for row in latest}
    scopes |= set(recent.values_list("environment_id", "platform", "version"))
    user_pk = user.pk  # a deleted user's instance has no pk any more once the transaction commits
    transaction.on_commit(lambda: _forget_cached(user_pk, scopes, now))
    days = DailyActivity.objects.filter(
        user=user,
        environment_id=OuterRef("environment_id"),
        platform=OuterRef("platform"),
        day=OuterRef("day"),
        version=OuterRef("version"),
    )
    # The user counts once in each of these (one daily row per scope and day). Locked in the
    # order recording locks tallies (kind, then day): no deadlock with other users' recording.
    # Their own requests hold their latest row while they write, which is locked above.
    daily = VersionTally.objects.filter(kind=DAILY).filter(Exists(days))
    list(daily.select_for_update().order_by("environment_id", "platform", "day").values_list("pk"))
    handed = Exists(days.filter(sent_credential=True))
    daily.update(users=F("users") - 1, credential_users=F("credential_users") - Case(When(handed, then=1), default=0))
    for row in latest:
        scope = {"environment_id": row.environment_id, "platform": row.platform}
        _bump(scope, LATEST, utc_day(row.last_seen_at), row.version, -1, -int(row.sent_credential))
    removed, _by_model = DailyActivity.objects.filter(user=user).delete()
    removed += ClientActivity.objects.filter(pk__in=[row.pk for row in latest]).delete()[0]
    AppVersion.objects.filter(first_reported_by=user).update(first_reported_by=None)
    return removed

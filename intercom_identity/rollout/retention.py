"""Activity retention: which days are kept, and pruning the older ones a short batch at a time,
so recording never waits for more than one batch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import connection
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from intercom_identity.conf import conf
from intercom_identity.models import AppVersion, ClientActivity, DailyActivity, VersionTally

BATCH_SIZE = 5000  # daily rows per DELETE: rows of days no request writes any more
# Latest-activity rows and tallies of old days are what a user coming back writes to: their
# batches are smaller, so such a request waits for a few milliseconds' batch at most.
SHARED_BATCH_SIZE = 1000
# SQLite locks the whole database for each write transaction: a pause between batches lets
# the requests that waited for the lock write before the next batch takes it again.
SQLITE_PAUSE = 0.005


def cutoff_day(today: date | None = None) -> date:
    """The first UTC day whose activity is kept: earlier days are pruned, and not recorded."""
    today = today or timezone.now().astimezone(dt_timezone.utc).date()
    return today - timedelta(days=conf.ACTIVITY_RETENTION_DAYS)


@dataclass(frozen=True)
class Pruned:
    """What a prune removed (or, for a dry run, would remove)."""

    before: date
    daily_rows: int
    latest_rows: int
    tallies: int
    versions: int
    dry_run: bool
    reporters: int = 0

    def describe(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (
            f"Activity before {self.before.isoformat()} (retention {conf.ACTIVITY_RETENTION_DAYS} days): {verb} "
            f"{self.daily_rows:,} daily activity row(s), {self.latest_rows:,} latest activity row(s) of users "
            f"not seen since, {self.tallies:,} tally row(s), {self.versions:,} app version(s) nobody reported since, "
            f"and the first reporter of {self.reporters:,} app version(s) still reported."
        )


def prune_activity(*, dry_run: bool = False, today: date | None = None, batch_size: int = BATCH_SIZE) -> Pruned:
    """Remove the activity of the days before ``cutoff_day(today)``, in batches; safe at any
    time, concurrently with traffic and with another prune (each batch re-checks its rows).

    Rows go first, then the tallies of the same days (which no window inside the retention
    reads), then the versions no remaining tally mentions. A version kept (still reported)
    forgets who first reported it once that day is past the retention: "user X ran 6.6.6 on
    that day" is activity like any other (the reporter only counts towards that day's
    allowance of new versions). Run outside a transaction, so each batch commits on its own.
    """
    before = cutoff_day(today)
    moment = datetime.combine(before, datetime.min.time(), dt_timezone.utc)
    old_versions = AppVersion.objects.filter(first_seen_at__lt=moment).exclude(
        Exists(
            VersionTally.objects.filter(
                environment_id=OuterRef("environment_id"),
                platform=OuterRef("platform"),
                version=OuterRef("version"),
                day__gte=before,
                users__gt=0,
            )
        )
    )
    if dry_run:
        return Pruned(
            before=before,
            daily_rows=DailyActivity.objects.filter(day__lt=before).count(),
            latest_rows=ClientActivity.objects.filter(last_seen_at__lt=moment).count(),
            tallies=VersionTally.objects.filter(day__lt=before).count(),
            versions=old_versions.count(),
            dry_run=True,
            reporters=_reported_before(moment).exclude(pk__in=old_versions.values("pk")).count(),
        )
    shared = min(batch_size, SHARED_BATCH_SIZE)
    return Pruned(
        before=before,
        daily_rows=_prune_daily(before, batch_size),
        latest_rows=_prune_in_key_order(ClientActivity, Q(last_seen_at__lt=moment), shared),
        tallies=_prune_in_key_order(VersionTally, Q(day__lt=before), shared),
        versions=_prune_in_key_order(AppVersion, Q(pk__in=old_versions.values("pk")), shared),
        dry_run=False,
        reporters=_forget_reporters(moment, shared),
    )


def _reported_before(moment: datetime) -> QuerySet[AppVersion]:
    return AppVersion.objects.filter(first_seen_at__lt=moment, first_reported_by__isnull=False)


def _forget_reporters(moment: datetime, batch_size: int) -> int:
    """Clear ``first_reported_by`` of the versions first seen before the retention, a batch at a time."""
    forgotten = 0
    while True:
        ids = list(_reported_before(moment).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return forgotten
        forgotten += _reported_before(moment).filter(pk__in=ids).update(first_reported_by=None)
        _pause()


def _prune_daily(before: date, batch_size: int) -> int:
    """Day by day, oldest first, each day in primary-key order: every batch is a range of
    the (day, id) index, found by reading ``batch_size`` entries of it and deleted by its
    two ends, never a rescan of the entries already deleted."""
    removed = 0
    day = DailyActivity.objects.filter(day__lt=before).aggregate(first=Min("day"))["first"]
    while day is not None:
        last = 0
        while True:
            rows = DailyActivity.objects.filter(day=day, pk__gt=last).order_by("pk").values_list("pk", flat=True)
            upto = next(iter(rows[batch_size - 1 : batch_size]), None) or rows.last()
            if upto is None:
                break
            removed += DailyActivity.objects.filter(day=day, pk__gt=last, pk__lte=upto).delete()[0]
            last = upto
            _pause()
        day = DailyActivity.objects.filter(day__gt=day, day__lt=before).aggregate(first=Min("day"))["first"]
    return removed


def _prune_in_key_order(
    model: type[ClientActivity] | type[VersionTally] | type[AppVersion], old: Q, batch_size: int
) -> int:
    """Delete the rows matching ``old`` in primary-key order, a batch at a time. The DELETE
    repeats the condition: a row a request refreshed meanwhile (a user seen again) stays."""
    removed, last = 0, 0
    while True:
        ids = list(model.objects.filter(old, pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return removed
        removed += model.objects.filter(old, pk__in=ids).delete()[0]
        last = ids[-1]
        _pause()


def _pause() -> None:
    if connection.vendor == "sqlite":
        time.sleep(SQLITE_PAUSE)

"""Benchmark 11: recording new users on a busy day whose rows PostgreSQL's statistics do not know yet.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/recording_stats.py [--today 100000] [--calls 300] [--rounds 3]
        [--database postgres://postgres@127.0.0.1:5432/intercom_identity_recording_stats]

``--quick`` is a tiny run (a check that it works, not a measurement).

It (re)creates the named database and migrates it (the test settings, a local-memory cache),
turns autovacuum off for the activity tables and runs ``ANALYZE`` while today has no rows:
the statistics then say today is empty, as they do on a release day until autoanalyze runs
(after 10% of a table changes). In one process:

- **empty day** (baseline): ``record_client`` for ``--calls`` new users, today empty;
- ``--today`` daily rows (and their users) are then written for today in bulk, without
  analysing: ``record_client`` for ``--calls`` other new users, with the lock query as
  shipped (``get()``: the unique index), and with the query it replaced
  (``select_for_update().filter(...).first()``: ``ORDER BY id LIMIT 1``, which PostgreSQL
  answered by walking the primary key through today's rows).

Rounds alternate the order; each figure is the median per-call time over the rounds. Target:
the shipped query within 1.5x of the empty day.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, print_table, start

TARGET = 1.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: 2,000 rows today, 20 calls, 1 round")
    parser.add_argument("--today", type=int, default=100_000, help="daily rows already written for today")
    parser.add_argument("--calls", type=int, default=300, help="new users recorded per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/intercom_identity_recording_stats")
    args = parser.parse_args()
    if args.quick:
        args.today, args.calls, args.rounds = 2_000, 20, 1
    return args


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def old_locked_or_created(model: Any, key: dict[str, Any], values: dict[str, Any]) -> Any:
    """The lookup recording used before, verbatim but for the name: ``first()`` orders by id."""
    from django.db import IntegrityError, transaction

    existing = model.objects.select_for_update().filter(**key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            model.objects.create(**key, **values)
    except IntegrityError:
        return model.objects.select_for_update().get(**key)
    return None


def main() -> None:
    args = parse_args()
    start("bench/recording_stats.py: recording new users with today's rows unknown to the statistics (benchmark 11)")
    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    recreate_database(args.database)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from intercom_identity import record_client
    from intercom_identity.models import ClientActivity, DailyActivity, Environment
    from intercom_identity.rollout import activity
    from intercom_identity.rollout.activity import utc_day
    from intercom_identity.rollout.changes import change_phase, store_secret
    from intercom_identity.selectors import get_platform_config

    call_command("migrate", verbosity=0)
    config = get_platform_config("ios", "development")
    store_secret(config, "bench-ios-0123456789abcdef0123456789abcdef012")
    from intercom_identity.models import RolloutPhase

    change_phase(config, RolloutPhase.SENDING)
    environment = Environment.objects.get(slug="development")
    tables = [model._meta.db_table for model in (DailyActivity, ClientActivity)]
    user_table = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        for table in [*tables, user_table]:
            cursor.execute(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)')
    users = iter(range(10**9))

    def new_users(count: int) -> list[Any]:
        model = get_user_model()
        return model.objects.bulk_create([model(username=f"new{next(users)}") for _ in range(count)])

    def per_call_ms(lookup: Callable[..., Any] | None) -> float:
        people = new_users(args.calls)
        patch: AbstractContextManager[Any] = (
            mock.patch.object(activity, "_locked_or_created", lookup) if lookup else nullcontext()
        )
        cache.clear()
        activity.forget_recordings()
        with patch:
            started = time.perf_counter()
            for person in people:
                record_client(person, "ios", "2.0", environment="development")
            elapsed = time.perf_counter() - started
        return float(elapsed / args.calls * 1000)

    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{tables[0]}"; ANALYZE "{tables[1]}"; ANALYZE "{user_table}"')
    empty = [per_call_ms(None) for _ in range(args.rounds)]

    # Today's rows, written in bulk after the statistics were taken (and never analysed).
    started = time.perf_counter()
    day = utc_day(django.utils.timezone.now())
    with connection.cursor() as cursor:
        insert_users = (
            f'INSERT INTO "{user_table}" (username, password, is_superuser, is_staff, is_active, first_name, '  # noqa: S608
            "last_name, email, date_joined) SELECT 'today' || n, '', false, false, true, '', '', '', now() "
            "FROM generate_series(1, %s) AS n"
        )
        cursor.execute(insert_users, [args.today])
        # Bulk loading only: no foreign-key trigger per row (the rows are consistent by construction).
        cursor.execute("SET session_replication_role = replica")
        insert_rows = (
            f'INSERT INTO "{tables[0]}" (environment_id, platform, user_id, version, day, sent_credential) '  # noqa: S608
            f"SELECT %s, 'ios', id, '1.0', %s, true FROM \"{user_table}\" WHERE username LIKE 'today%%'"
        )
        cursor.execute(insert_rows, [environment.pk, day])
        cursor.execute("SET session_replication_role = DEFAULT")
    print(f"{args.today:,} daily rows written for {day} in {time.perf_counter() - started:.1f} s, not analysed")

    shipped: list[float] = []
    old: list[float] = []
    for number in range(args.rounds):
        order = [(shipped, None), (old, old_locked_or_created)]
        for figures, lookup in order if number % 2 == 0 else order[::-1]:
            figures.append(per_call_ms(lookup))

    # The lookup alone, for users with no row today (what a new user's recording asks first).
    def lookup_ms(first: bool) -> float:
        from django.db import transaction

        keys = [
            {"environment": environment, "platform": "ios", "user_id": 10**9 + n, "day": day} for n in range(args.calls)
        ]
        with transaction.atomic():
            started = time.perf_counter()
            for key in keys:
                rows = DailyActivity.objects.select_for_update()
                if first:
                    rows.filter(**key).first()
                else:
                    with contextlib.suppress(DailyActivity.DoesNotExist):
                        rows.get(**key)
            return (time.perf_counter() - started) / len(keys) * 1000

    lookups: dict[bool, list[float]] = {True: [], False: []}
    for number in range(args.rounds):
        for first in (False, True) if number % 2 == 0 else (True, False):
            lookups[first].append(lookup_ms(first))
    get_ms, first_ms = statistics.median(lookups[False]), statistics.median(lookups[True])

    base = statistics.median(empty)
    now_ms, before_ms = statistics.median(shipped), statistics.median(old)
    ratio, before = now_ms / base, before_ms / base
    print_table(
        f"median of {args.rounds} round(s) of {args.calls} new users recorded; statistics taken with today empty",
        [
            Row("empty day (baseline)", f"{base:.3f} ms/call", 1.0),
            Row(
                f"{args.today:,} rows today, stale statistics: get() (shipped)",
                f"{now_ms:.3f} ms/call",
                ratio,
                f"<= {TARGET}x",
                ratio <= TARGET,
            ),
            Row(
                f"{args.today:,} rows today, stale statistics: filter().first() (before)",
                f"{before_ms:.3f} ms/call",
                before,
                "reported",
            ),
        ],
        figure_header="time",
    )
    print_table(
        f"the lock's lookup alone, {args.calls} users with no row today, median of {args.rounds} round(s)",
        [
            Row("get() (shipped) (baseline)", f"{get_ms:.3f} ms/lookup", 1.0),
            Row("filter().first() (before)", f"{first_ms:.3f} ms/lookup", first_ms / get_ms, "reported"),
        ],
        figure_header="time",
    )
    print(
        f"recording with {args.today:,} rows today under stale statistics: {ratio:.2f}x an empty day "
        f"(target <= {TARGET}x: {'PASS' if ratio <= TARGET else 'MISS'}); the lookup it replaced: {before:.2f}x."
    )


if __name__ == "__main__":
    main()

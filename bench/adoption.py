"""Benchmark: the adoption readiness query at a million users, on PostgreSQL.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/adoption.py [--users 1000000] [--versions 50]
        [--database postgres://postgres@127.0.0.1:5432/intercom_identity_bench]

It (re)creates the named database, migrates it, loads ``--users`` users with one
``ClientActivity`` row each (spread over 40 days and ``--versions`` versions, half of them
credential-sending) and one ``DailyActivity`` row each, builds the tallies with
``activity.recount``, then times ``activity.adoption`` and prints the plan of its query.
The baseline, measured in the same run, is the per-user query adoption would need without
the tallies: users active in the window grouped by version, over ``ClientActivity``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/intercom_identity_bench")
    args = parser.parse_args()

    import psycopg

    name = args.database.rsplit("/", 1)[1]
    admin_url = args.database.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Sum
    from django.utils import timezone

    from intercom_identity.activity import adoption, recount
    from intercom_identity.models import ClientActivity, PlatformConfig, VersionTally

    call_command("migrate", verbosity=0)
    config = PlatformConfig.objects.select_related("environment").get(environment__slug="production", platform="ios")
    env_id = config.environment_id
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT '', false, 'bench' || n, '', '', '', false, true, now() FROM generate_series(1, %s) AS n
            """,
            [args.users],
        )
        cursor.execute(
            """
            INSERT INTO intercom_identity_appversion
                (environment_id, platform, version, first_seen_at, first_credential_at)
            SELECT %s, 'ios', '1.' || v, now() - interval '60 days',
                   CASE WHEN v >= %s / 2 THEN now() - interval '45 days' END
            FROM generate_series(0, %s - 1) AS v
            """,
            [env_id, args.versions, args.versions],
        )
        cursor.execute(
            """
            INSERT INTO intercom_identity_clientactivity
                (environment_id, platform, user_id, version, sent_credential, last_seen_at)
            SELECT %s, 'ios', id, '1.' || (id %% %s), (id %% %s) >= %s / 2,
                   now() - (id %% 40) * interval '1 day' - (id %% 86400) * interval '1 second'
            FROM auth_user
            """,
            [env_id, args.versions, args.versions, args.versions],
        )
        cursor.execute(
            """
            INSERT INTO intercom_identity_dailyactivity (environment_id, platform, user_id, day, version)
            SELECT %s, 'ios', id, (now() - (id %% 40) * interval '1 day')::date, '1.' || (id %% %s)
            FROM auth_user
            """,
            [env_id, args.versions],
        )
    recount([config])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # Django runs in autocommit mode
    print(f"loaded {args.users:,} users and {args.versions} versions in {time.perf_counter() - started:.1f} s")

    def best(fn: object, repeat: int = 5) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return min(times) * 1000

    since = timezone.now() - timedelta(days=30)
    per_user = (
        ClientActivity.objects.filter(environment_id=env_id, platform="ios", last_seen_at__gte=since)
        .values_list("version")
        .annotate(users=Count("*"))
        .order_by()
    )
    numbers = adoption(config)
    baseline_ms = best(lambda: list(per_user.all()))  # .all(): a fresh query every time
    readiness_ms = best(lambda: adoption(config, with_daily=False))
    overview_ms = best(lambda: adoption(config))
    plan = (
        VersionTally.objects.filter(environment_id=env_id, platform="ios", day__gte=numbers.daily[0].day, kind="latest")
        .values_list("version")
        .annotate(users=Sum("users"))
        .order_by()
        .explain()
    )
    print(f"active users {numbers.active_users:,}, ready {numbers.ready_users:,}, ratio {numbers.ratio:.3f}")
    rows = [
        ("per-user scan of ClientActivity grouped by version (baseline)", baseline_ms),
        ("readiness: adoption(with_daily=False), what the guard runs", readiness_ms),
        ("overview: adoption() with the 30-day series", overview_ms),
    ]
    print(f"{'what':<64}{'ms':>9}{'x baseline':>12}")
    for label, ms in rows:
        print(f"{label:<64}{ms:>9.1f}{ms / baseline_ms:>12.3f}")
    print("plan of the readiness query:")
    print(plan)


if __name__ == "__main__":
    main()

"""What the pseudonymous cache keys of recording cost, measured in one process.

Usage::

    .venv/bin/python bench/activity_keys.py [--quick] [--rounds 7]

Recording remembers, per (user, platform, version) and hour, that it already wrote; those keys
are now a keyed digest (BLAKE2b, its key derived from ``SECRET_KEY``) instead of the user's id, version and
hour in clear. The baseline is the steady state of ``record()`` (the key remembered by the
process: no query, no cache round trip) with the old f-string key, patched in; the measured row
is the same call with the digest key. Target: at most 1.5x the baseline (the hot path's only
work besides the key is a dict lookup). Settings: ``tests.settings`` (SQLite in memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, print_table, start

TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run (a check that it works, not a measurement)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    number = 200 if args.quick else 50_000
    rounds = 2 if args.quick else args.rounds

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from intercom_identity._internal.configcache import get_serving_config
    from intercom_identity.rollout import activity

    start("bench/activity_keys.py: record() with pseudonymous cache keys")
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")
    config = get_serving_config("ios", "development")
    digest_key = activity._seen_key

    def clear_key(environment_id: int, platform: str, user_pk: object, version: str, moment: object) -> str:
        return f"intercom_identity:seen:{environment_id}:{platform}:{user_pk}:{version}:{moment:%Y%m%d%H}"

    def steady(key_function: object) -> timeit.Timer:
        activity._seen_key = key_function  # type: ignore[assignment]
        activity.record(config, user, "2.0", sent_credential=False)  # writes once; then remembered
        return timeit.Timer(lambda: activity.record(config, user, "2.0", sent_credential=False))

    best = {"clear": float("inf"), "digest": float("inf")}
    for _ in range(rounds):
        for name, function in (("clear", clear_key), ("digest", digest_key)):
            timer = steady(function)
            best[name] = min(best[name], timer.timeit(number) / number * 1e6)
    activity._seen_key = digest_key
    ratio = best["digest"] / best["clear"]
    print_table(
        f"record() steady state, best of {rounds} rounds of {number:,} calls",
        [
            Row("record(), key in clear: user id, version, hour (baseline)", f"{best['clear']:.2f} us", 1.0),
            Row(
                "record(), keyed digest (BLAKE2b keyed from SECRET_KEY)",
                f"{best['digest']:.2f} us",
                ratio,
                f"<= {TARGET}x",
                ratio <= TARGET,
            ),
        ],
    )


if __name__ == "__main__":
    main()

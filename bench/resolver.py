"""Benchmark 7: the JSON view with an environment resolver against the JSON view without one.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/resolver.py [--quick] [--scale 1.0] [--rounds 9]

In one process, with the test settings (``tests.settings``: SQLite in memory, the local-memory
cache): a signed-in user, the iOS secret stored in development and in production, both
"sending". Every row is ``GET /intercom/user-hash/?platform=ios`` through the test client
(middleware, session authentication, rate limits, the configuration copy: everything but the
socket), warm.

Baseline: no ``INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER`` (today's deployments: every request gets
``INTERCOM_IDENTITY_ENVIRONMENT``). Measured: ``header_environment`` with the request's
``X-Intercom-Environment`` naming the default environment (the same credential: only the
resolution differs), naming the other served environment (the debug-build recipe), and
``host_environment`` (the multi-brand recipe). The figure compared is requests per second,
and the target is at least 0.95x the baseline's. Rounds interleave the rows (a drift of the
CPU clock affects them alike); each figure is the best round. Rounds are timed in CPU time of
this process (``time.process_time``), not wall time: on a machine shared with other work, wall
time mostly measures how often the scheduler ran something else (two wall-time runs on a loaded
2-core machine put the same row at 0.87x and 1.44x).

The rows switch the resolver by writing the validated value where ``conf`` keeps it (what
reading the setting would store), not through ``override_settings``: that would announce a
change of settings, which drops every configuration copy and would measure a cold path.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, print_table, start

TARGET = 0.95
SECRETS = {
    "development": "bench-dev-ios-0123456789abcdef0123456789abcdef",
    "production": "bench-prod-ios-fedcba9876543210fedcba98765432",
}
HOST = "brand-a.example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run (a check that it works, not a measurement)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every iteration count")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    number = max(1, int((5 if args.quick else 200) * args.scale))
    rounds = 2 if args.quick else args.rounds

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = "sqlite://:memory:"  # whatever the shell says: the figures are for this
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client, RequestFactory

    from intercom_identity.conf import conf
    from intercom_identity.models import RolloutPhase
    from intercom_identity.resolvers import header_environment, host_environment, resolve_environment
    from intercom_identity.rollout.changes import change_phase, store_secret
    from intercom_identity.selectors import get_platform_config

    start("bench/resolver.py: the JSON view with an environment resolver (benchmark 7)")
    # Before anything reads them (the checks migrate runs do).
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = ["production"]
    settings.INTERCOM_IDENTITY_ENVIRONMENT_HOSTS = {HOST: "production"}
    settings.INTERCOM_IDENTITY_HASH_RATE_LIMIT = 0  # the rounds would exceed any limit
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")
    for environment, secret in SECRETS.items():
        config = get_platform_config("ios", environment)
        store_secret(config, secret)
        change_phase(config, RolloutPhase.SENDING, force=True, reason="benchmark set-up")
    client = Client()
    client.force_login(user)
    url = "/intercom/user-hash/?platform=ios"

    def using(resolver: Any) -> None:
        vars(conf)["ENVIRONMENT_RESOLVER"] = resolver

    def request(expected: str, **headers: str) -> None:
        response = client.get(url, headers=headers)
        if response.status_code != 200 or response.json()["environment"] != expected:
            raise SystemExit(f"unexpected answer: {response.status_code} {response.content[:200]!r}")

    rows: list[tuple[str, Any, Any]] = [
        ("no resolver (baseline)", None, lambda: request("development")),
        (
            "header_environment, header names the default",
            header_environment,
            lambda: request("development", **{"X-Intercom-Environment": "development"}),
        ),
        (
            "header_environment, header names the other served one",
            header_environment,
            lambda: request("production", **{"X-Intercom-Environment": "production"}),
        ),
        ("host_environment, mapped host", host_environment, lambda: request("production", Host=HOST)),
    ]
    for _label, resolver, call in rows:  # warm up: the copies of both environments, imports
        using(resolver)
        call()
    best = [float("inf")] * len(rows)
    for _ in range(rounds):
        for index, (_label, resolver, call) in enumerate(rows):
            using(resolver)
            best[index] = min(best[index], timeit.Timer(call, timer=time.process_time).timeit(number) / number)
    using(None)
    # What the resolution itself costs, beside a request: resolve_environment on a fresh request.
    factory = RequestFactory()
    fresh = [factory.get(url, HTTP_X_INTERCOM_ENVIRONMENT="production") for _ in range(number * 10)]
    using(header_environment)
    began = time.process_time()
    for one in fresh:
        resolve_environment(one)
    resolution = (time.process_time() - began) / len(fresh)
    using(None)

    baseline = 1 / best[0]
    table: list[Row] = []
    for index, ((label, _resolver, _call), seconds) in enumerate(zip(rows, best, strict=True)):
        rate = 1 / seconds
        row = Row(label, f"{rate:,.0f} req/s", rate / baseline)
        if index:
            row.target, row.passed = f">= {TARGET}x", rate / baseline >= TARGET
        table.append(row)
    title = f"GET {url} through the test client, best of {rounds} interleaved rounds of {number} (CPU time)"
    print_table(title, table, figure_header="rate")
    print(
        f"resolve_environment with header_environment: {resolution * 1e6:.2f} us a request, "
        f"{resolution / best[0]:.2%} of a request without a resolver"
    )
    worst = min(1 / seconds for seconds in best[1:]) / baseline
    print(
        f"with a resolver: {worst:.3f}x the requests per second without one "
        f"(target >= {TARGET}x: {'PASS' if worst >= TARGET else 'MISS'})"
    )


if __name__ == "__main__":
    main()

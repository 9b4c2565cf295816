"""Connection reuse: the JSON view under gunicorn + wrk with a PostgreSQL connection per request
(``CONN_MAX_AGE`` 0) against persistent connections checked before reuse (``CONN_MAX_AGE`` 60,
``CONN_HEALTH_CHECKS``), the demo's default. The performance page quotes it.

Usage::

    .venv/bin/python bench/connections.py [--pairs 7] [--duration 3] [--users 200] [--workers 2]
        [--connections 4] [--database postgres://postgres@127.0.0.1:5432/intercom_identity_bench_connections]
        [--cache-url locmemcache://]

``--quick`` is a tiny run (a check that it works, not a measurement).

It prepares the data as ``bench/web.py`` does (its own database, the demo's settings, an iOS
secret in phase "sending", ``--users`` users with a session each; the rate limit off), then
starts TWO gunicorns on that database, identical but for ``CONN_MAX_AGE``, and runs ``--pairs``
pairs of wrk runs on ``GET /intercom/user-hash/?platform=ios``, alternating which goes first.
It reports the median of the pairs' throughput ratios (persistent against per request): on a
small shared machine throughput drifts by tens of percent within minutes, and a pair's runs
are seconds apart. The cache defaults to the process-local one, so that only the database
connections differ and no shared Redis is touched; every response must be a 200.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, print_table
from bench.web import (
    ENDPOINTS,
    SETTLE,
    Results,
    Run,
    begin,
    check,
    free_port,
    preflight,
    prepare_data,
    recreate_database,
    start_gunicorn,
    stop,
    wait_until_serving,
    wrk,
)

# No X-App-Version, served by this script's own servers (which run with the rate limit off).
JSON_VIEW = replace(next(endpoint for endpoint in ENDPOINTS if endpoint.key == "off"), server="limited")
PERSISTENT = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: 20 users, 1 pair of 1 s runs")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--duration", type=int, default=3, help="seconds of each run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server (0: none)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/intercom_identity_bench_connections")
    parser.add_argument("--cache-url", default="locmemcache://", help="CACHE_URL of both servers")
    args = parser.parse_args()
    if args.quick:
        args.users, args.pairs, args.duration, args.warmup = 20, 1, 1, 1
    if min(args.pairs, args.duration, args.users, args.threads) < 1 or args.connections < args.threads:
        parser.error("--pairs, --duration, --users and --threads must be at least 1, --connections >= --threads.")
    args.conn_max_age = PERSISTENT  # what bench/web.py's environment puts in DATABASE_URL
    args.redis, args.redis_db = "", 0  # unused: --cache-url is always given
    return args


def per_request(env: dict[str, str]) -> dict[str, str]:
    """The same environment (keys, secret key, database) with a connection per request."""
    url = env["DATABASE_URL"].replace(f"conn_max_age={PERSISTENT}", "conn_max_age=0")
    if url == env["DATABASE_URL"]:
        raise SystemExit(f"error: DATABASE_URL has no conn_max_age={PERSISTENT} to replace")
    return {**env, "DATABASE_URL": url}


def main() -> None:
    args = parse_args()
    persistent_env = begin(
        args, "bench/connections.py: a PostgreSQL connection per request against persistent connections"
    )
    print(
        f"setup: {args.users:,} users with a session each; gunicorn {args.workers} sync worker(s); wrk "
        f"{args.threads} thread(s), {args.connections} connection(s), {args.pairs} pair(s) of {args.duration} s; "
        f"CACHE_URL={args.cache_url}; rate limit off; CONN_HEALTH_CHECKS on"
    )
    recreate_database(args.database)
    envs = {"per request": per_request(persistent_env), "persistent": persistent_env}
    results = Results(runs={name: [] for name in envs})
    with tempfile.TemporaryDirectory(prefix="bench-connections-") as tmp:
        sessions = Path(tmp) / "sessions.txt"
        prepare_data(args.users, sessions)
        servers, bases, logs = {}, {}, []
        try:
            for name, env in envs.items():
                port = free_port()
                log_path = Path(tmp) / f"gunicorn-{port}.log"
                logs.append(log_path.open("wb"))
                servers[name] = start_gunicorn(args, env, port, logs[-1])
                bases[name] = f"http://127.0.0.1:{port}"
                wait_until_serving(servers[name], bases[name], log_path)
                preflight(bases[name], sessions.read_text().split()[0])
                if args.warmup:
                    wrk(args, bases[name], JSON_VIEW, args.warmup, sessions, "warm")
            tag = uuid.uuid4().hex[:8]
            names = list(envs)
            for number in range(1, args.pairs + 1):
                line = []
                for name in names if number % 2 else names[::-1]:
                    time.sleep(SETTLE)
                    run: Run = wrk(args, bases[name], JSON_VIEW, args.duration, sessions, f"{tag}p{number}")
                    check(results, JSON_VIEW, run, f"pair {number} ({name})")
                    results.runs[name].append(run)
                    line.append(f"{name} {run.rps:,.0f} req/s p99 {run.p99_ms:.1f} ms")
                print(f"pair {number}: " + " | ".join(line))
                sys.stdout.flush()
        finally:
            for server in servers.values():
                stop(server)
            for log in logs:
                log.close()
    ratios = sorted(
        run.rps / base.rps
        for run, base in zip(results.runs["persistent"], results.runs["per request"], strict=True)
        if base.rps
    )
    ratio = statistics.median(ratios)

    def figure(name: str) -> str:
        return f"{results.median_rps(name):,.0f} req/s, p99 {results.median_p99(name):.1f} ms"

    print_table(
        f"GET {JSON_VIEW.path}, {args.pairs} pair(s) of {args.duration} s runs: median throughput and p99 "
        f"latency; x baseline: median of the pairs' throughput ratios (from {ratios[0]:.2f} to {ratios[-1]:.2f})",
        [
            Row("CONN_MAX_AGE=0: a connection per request (baseline)", figure("per request"), 1.0),
            Row(f"CONN_MAX_AGE={PERSISTENT} + CONN_HEALTH_CHECKS (the demo's default)", figure("persistent"), ratio),
        ],
        figure_header="throughput, latency",
    )
    print(f"persistent connections: {ratio:.2f}x the throughput of a connection per request.")
    if results.problems:
        for problem in results.problems:
            print(f"error: {problem}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Benchmark 9: the app under an ASGI server (gunicorn managing uvicorn workers, ``project.asgi``),
next to the same measurements under WSGI (gunicorn's sync workers, ``project.wsgi``) in the same run.

Usage::

    .venv/bin/python bench/asgi.py [--pairs 7] [--duration 3] [--users 200] [--workers 2]
        [--connections 4] [--pool-size 4]
        [--database postgres://postgres@127.0.0.1:5432/intercom_identity_bench_asgi] [--cache-url locmemcache://]

``--quick`` is a tiny run (a check that it works, not a measurement).

It prepares the data as ``bench/web.py`` does (its own database, the demo's settings, an iOS
secret in phase "sending", ``--users`` users with a session each; the rate limit off), then:

1. ONE ASGI server; ``--pairs`` pairs of wrk runs (alternating which goes first) on the app's
   async JSON view ``GET /intercom/user-hash/?platform=ios`` and on the demo's bare async
   authenticated view ``GET /api/whoami/`` (``await request.auser()``, nothing else). Target: the
   JSON view at least 0.9x the bare view's throughput (median of the pairs' ratios).
2. TWO ASGI servers, identical but for ``MessengerSessionMiddleware`` (``DEMO_MESSENGER_MIDDLEWARE``):
   pairs of runs on the demo's page ``GET /`` (which renders ``{% intercom_messenger %}``) as a
   signed-in user. Target: with the middleware at least 0.97x the throughput without it.
3. All along, the PostgreSQL connections of the benchmark's database are sampled every 50 ms
   (``pg_stat_activity``): under ASGI the demo uses Django's psycopg pool
   (``DATABASE_POOL_SIZE``), so a server holds at most pool size x workers, whatever the
   number of requests (thousands here: the count is printed).

Then 1 and 2 again under WSGI (``--interface both``, the default): the sync views, the demo's sync
bare view, persistent connections. Each ratio is measured against its baseline in the same run.
Every response must be a 200.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, print_table
from bench.web import (
    ENDPOINTS,
    SETTLE,
    Endpoint,
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

JSON_TARGET = 0.9
PAGE_TARGET = 0.97
BARE = next(endpoint for endpoint in ENDPOINTS if endpoint.key == "bare")
# No X-App-Version, served by this script's own servers (which run with the rate limit off).
JSON_VIEW = replace(next(endpoint for endpoint in ENDPOINTS if endpoint.key == "off"), server="limited")
PAGE = Endpoint("page", "the demo's page GET / ({% intercom_messenger %})", "/", "off")
SAMPLE_EVERY = 0.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: 20 users, 1 pair of 1 s runs")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--duration", type=int, default=3, help="seconds of each run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server and endpoint (0: none)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (gunicorn processes)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--pool-size", type=int, default=4, help="DATABASE_POOL_SIZE: the pool's maximum per worker")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/intercom_identity_bench_asgi")
    parser.add_argument("--cache-url", default="locmemcache://", help="CACHE_URL of the servers")
    parser.add_argument(
        "--interface",
        choices=["both", "asgi", "wsgi"],
        default="both",
        help="ASGI (gunicorn + uvicorn workers), WSGI (gunicorn sync workers, for comparison), or both",
    )
    args = parser.parse_args()
    args.interfaces = ["asgi", "wsgi"] if args.interface == "both" else [args.interface]
    if args.quick:
        args.users, args.pairs, args.duration, args.warmup = 20, 1, 1, 1
    if min(args.pairs, args.duration, args.users, args.threads, args.pool_size) < 1 or args.connections < args.threads:
        parser.error(
            "--pairs, --duration, --users, --threads and --pool-size must be at least 1, --connections >= --threads."
        )
    args.conn_max_age = 0  # under ASGI the demo pools its connections instead (project/settings.py)
    args.redis, args.redis_db = "", 0  # unused: --cache-url is always given
    return args


def start_asgi(args: argparse.Namespace, env: dict[str, str], port: int, log: Any) -> subprocess.Popen[bytes]:
    """gunicorn managing ``--workers`` uvicorn workers, serving ``project.asgi``."""
    command = [
        *(sys.executable, "-m", "gunicorn", "project.asgi:application"),
        *("--workers", str(args.workers), "--worker-class", "uvicorn_worker.UvicornWorker"),
        *("--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning"),
    ]
    return subprocess.Popen(  # noqa: S603 (our own command line)
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


class ConnectionSampler(threading.Thread):
    """The most connections to ``database`` seen in ``pg_stat_activity`` (this sampler's own excluded)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.database = url.rsplit("/", 1)[1].split("?")[0]
        self.most = 0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psycopg

        admin_url = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            while not self.stopped.wait(SAMPLE_EVERY):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)
                self.samples += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def pairs_of(
    args: argparse.Namespace, runs: list[tuple[str, str, Endpoint]], sessions: Path, results: Results
) -> list[float]:
    """``--pairs`` pairs of runs (alternating which goes first); the ratios second/first."""
    tag = uuid.uuid4().hex[:8]
    ratios = []
    for number in range(1, args.pairs + 1):
        measured: dict[str, Run] = {}
        line = []
        for key, base, endpoint in runs if number % 2 else runs[::-1]:
            time.sleep(SETTLE)
            run = wrk(args, base, endpoint, args.duration, sessions, f"{tag}p{number}")
            check(results, endpoint, run, f"pair {number} ({key})")
            results.runs.setdefault(key, []).append(run)
            measured[key] = run
            line.append(f"{key} {run.rps:,.0f} req/s p99 {run.p99_ms:.1f} ms")
        print(f"pair {number}: " + " | ".join(line))
        sys.stdout.flush()
        first, second = (measured[key] for key, _base, _endpoint in runs)
        ratios.append(second.rps / first.rps if first.rps else 0.0)
    return sorted(ratios)


def measure(
    args: argparse.Namespace, interface: str, env: dict[str, str], sessions: Path, tmp: str
) -> tuple[list[Row], list[str]]:
    """Benchmarks 1 to 3 under one interface ("asgi" or "wsgi"): its rows and problems."""
    results = Results()
    envs = {"with middleware": env, "without middleware": {**env, "DEMO_MESSENGER_MIDDLEWARE": "False"}}
    sampler = ConnectionSampler(env["DATABASE_URL"])
    sampler.start()
    servers, bases, logs = {}, {}, []
    try:
        for name, server_env in envs.items():
            port = free_port()
            log_path = Path(tmp) / f"{interface}-{port}.log"
            logs.append(log_path.open("wb"))
            if interface == "asgi":
                servers[name] = start_asgi(args, {**server_env, "DEMO_SERVER": "asgi"}, port, logs[-1])
            else:
                servers[name] = start_gunicorn(args, server_env, port, logs[-1])
            bases[name] = f"http://127.0.0.1:{port}"
            wait_until_serving(servers[name], bases[name], log_path)
            preflight(bases[name], sessions.read_text().split()[0])
            if args.warmup:
                for endpoint in (BARE, JSON_VIEW, PAGE):
                    wrk(args, bases[name], endpoint, args.warmup, sessions, "warm")
        on = bases["with middleware"]
        print(f"-- {interface} 1: the JSON view against a bare authenticated view (one server)")
        json_ratios = pairs_of(args, [("bare", on, BARE), ("json", on, JSON_VIEW)], sessions, results)
        print(f"-- {interface} 2: the page with MessengerSessionMiddleware against the same server without it")
        page_ratios = pairs_of(
            args, [("page without", bases["without middleware"], PAGE), ("page with", on, PAGE)], sessions, results
        )
    finally:
        for server in servers.values():
            stop(server)
        for log in logs:
            log.close()
        sampler.stop()
    requests = sum(run.requests for runs in results.runs.values() for run in runs)
    json_ratio, page_ratio = statistics.median(json_ratios), statistics.median(page_ratios)

    def figure(key: str) -> str:
        return f"{results.median_rps(key):,.0f} req/s, p99 {results.median_p99(key):.1f} ms"

    kind = "async " if interface == "asgi" else ""
    label = interface.upper()
    rows = [
        Row(f"{label}: bare {kind}authenticated view GET {BARE.path} (baseline of 1)", figure("bare"), 1.0),
        Row(
            f"{label} 1. {kind}JSON view GET {JSON_VIEW.path} (pairs {json_ratios[0]:.2f} to {json_ratios[-1]:.2f})",
            figure("json"),
            json_ratio,
            f">= {JSON_TARGET}x",
            json_ratio >= JSON_TARGET,
        ),
        Row(f"{label}: page GET / without MessengerSessionMiddleware (baseline of 2)", figure("page without"), 1.0),
        Row(
            f"{label} 2. page GET / with MessengerSessionMiddleware "
            f"(pairs {page_ratios[0]:.2f} to {page_ratios[-1]:.2f})",
            figure("page with"),
            page_ratio,
            f">= {PAGE_TARGET}x",
            page_ratio >= PAGE_TARGET,
        ),
    ]
    if interface == "asgi":
        bound = args.pool_size * args.workers * len(servers)
        rows.append(
            Row(
                f"{label} 3. most PostgreSQL connections at once over {requests:,} requests "
                f"({sampler.samples} samples)",
                f"{sampler.most}",
                None,
                f"<= {bound} ({args.pool_size} x {args.workers} workers x {len(servers)} servers)",
                sampler.most <= bound,
            )
        )
    print(
        f"{label}: the {kind}JSON view {json_ratio:.2f}x the bare view; the page with the middleware "
        f"{page_ratio:.3f}x without; most connections at once {sampler.most} over {requests:,} requests."
    )
    return rows, results.problems


def main() -> None:
    args = parse_args()
    env = begin(args, "bench/asgi.py: under ASGI (gunicorn + uvicorn workers) and WSGI (gunicorn), wrk on loopback")
    env = {**env, "DATABASE_POOL_SIZE": str(args.pool_size)}
    print(
        f"setup: {args.users:,} users with a session each; {args.workers} worker(s) per server; wrk {args.threads} "
        f"thread(s), {args.connections} connection(s), {args.pairs} pair(s) of {args.duration} s; "
        f"CACHE_URL={args.cache_url}; rate limit off; ASGI: psycopg pool of at most {args.pool_size} per worker; "
        "WSGI: persistent connections (CONN_MAX_AGE 60)"
    )
    recreate_database(args.database)
    rows: list[Row] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as tmp:
        sessions = Path(tmp) / "sessions.txt"
        prepare_data(args.users, sessions)
        for interface in args.interfaces:
            server_env = env if interface == "asgi" else {**env, "DATABASE_URL": persistent(env["DATABASE_URL"])}
            interface_rows, interface_problems = measure(args, interface, server_env, sessions, tmp)
            rows += interface_rows
            problems += interface_problems
    print_table(
        f"{args.pairs} pair(s) of {args.duration} s runs: median throughput and p99 latency; "
        "x baseline: median of the pairs' throughput ratios",
        rows,
        figure_header="throughput, latency",
    )
    if problems:
        for problem in problems:
            print(f"error: {problem}")
        raise SystemExit(1)


def persistent(url: str) -> str:
    """The WSGI servers' database URL: the demo's default persistent connections."""
    return url.replace("conn_max_age=0", "conn_max_age=60")


if __name__ == "__main__":
    main()

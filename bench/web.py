"""Benchmarks 2 and 5: the JSON view under load, served by gunicorn, driven by wrk on loopback.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/web.py [--users 1000] [--pairs 15] [--pair-duration 3] [--rounds 5]
        [--duration 5] [--warmup 3] [--workers 2] [--connections 4] [--threads 1] [--conn-max-age 60]
        [--database postgres://postgres@127.0.0.1:5432/intercom_identity_bench_web] [--redis-db N]

``--quick`` is a tiny run (a check that it works, not a measurement).

It (re)creates the named PostgreSQL database, flushes the Redis database ``--redis-db`` (default:
``bench_web``'s in ``tests/localservices.py``'s table),
migrates with the demo site's settings (``project.settings``, configured through the
environment as in production: DEBUG off, Redis cache),
stores an iOS secret in phase "sending", and creates ``--users`` users with a session each.
Then two gunicorns (``--workers`` sync workers each; the second with the rate limit off) serve
the views, and wrk (``bench/web.lua``) rotates the session cookies among the users:

- benchmark 2: ``GET /intercom/user-hash/?platform=ios`` with the default rate limit on
  (120 a minute per user: counted, never reached with 1,000 users) against the demo's bare
  authenticated ``GET /api/whoami/`` (same middleware and session authentication), and against
  the same view on a second gunicorn with the limit off (0). Targets: throughput at least 0.9x
  of each; p99 latency reported.
- benchmark 5: the same JSON view recording client versions (``X-App-Version``) against
  recording off (no header): steady state (each user always reports the same version, one of
  three, so after its first request of the hour it only checks the cache; a run that crosses
  the hour sees each user write once more), reported; and the worst case, a flood from one
  user reporting a new version on every request (its first few new versions a day are
  recorded, the rest refused: ``INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER``). Target for
  the worst case: at least 0.8x the throughput of recording off.

After a warm-up of every endpoint, benchmark 2 runs ``--pairs`` pairs of short runs (bare,
JSON view; then JSON view, bare; ...) and reports the median of the pairs' ratios: on a small
shared machine throughput drifts by tens of percent within minutes, and a pair's runs are
seconds apart. Benchmark 5 then runs ``--rounds`` rounds of off, steady and worst, alternating
the order likewise. Every response must be a 200: a
non-2xx response or a socket error is reported as an error (exit status 1).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, print_table, start
from tests.localservices import REDIS_DATABASES

TARGET = 0.9
FLOOD_TARGET = 0.8  # benchmark 5's worst case against recording off
LUA = ROOT / "bench" / "web.lua"
SECRET = "bench-ios-0123456789abcdef0123456789abcdef012"
BARE = "/api/whoami/"
JSON_VIEW = "/intercom/user-hash/?platform=ios"
SETTLE = 0.5  # seconds of pause before each measured run (the previous run's writes settle)
WRK_RESULT = re.compile(r"^WRK_RESULT (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    path: str
    mode: str  # the Lua script's mode: off, steady or worst
    server: str = "limited"  # which gunicorn: "limited" (the default rate limit) or "unlimited" (limit 0)


ENDPOINTS = [
    Endpoint("bare", f"bare authenticated JsonResponse GET {BARE}", BARE, "off"),
    Endpoint("limited", f"JSON view GET {JSON_VIEW}, the default rate limit on", JSON_VIEW, "off"),
    Endpoint("off", f"JSON view GET {JSON_VIEW}, rate limit off, no X-App-Version", JSON_VIEW, "off", "unlimited"),
    Endpoint("steady", "JSON view, X-App-Version recorded, steady state", JSON_VIEW, "steady", "unlimited"),
    Endpoint(
        "worst", "JSON view, one user flooding: a new X-App-Version every request", JSON_VIEW, "worst", "unlimited"
    ),
]


@dataclass
class Run:
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def median_rps(self, key: str) -> float:
        return statistics.median(run.rps for run in self.runs[key])

    def median_p99(self, key: str) -> float:
        return statistics.median(run.p99_ms for run in self.runs[key])

    def ratio(self, key: str, baseline: str) -> float:
        """The median over rounds of each round's throughput ratio: a round's runs are
        seconds apart, so a drift of the machine's speed during the run cancels out."""
        pairs = zip(self.runs[key], self.runs[baseline], strict=True)
        return statistics.median(run.rps / base.rps if base.rps else 0.0 for run, base in pairs)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: 20 users, 1 round of 1 s, 1 s warm-ups")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=5, help="seconds of each benchmark 5 run")
    parser.add_argument("--pairs", type=int, default=15, help="benchmark 2: alternating runs of bare and JSON view")
    parser.add_argument("--pair-duration", type=int, default=3, help="seconds of each benchmark 2 run")
    parser.add_argument("--rounds", type=int, default=5, help="benchmark 5: rounds of off, steady and worst")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint (0: none)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--conn-max-age", type=int, default=60, help="Django CONN_MAX_AGE (0: a connection a request)")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/intercom_identity_bench_web")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis server (no database number)")
    parser.add_argument(
        "--redis-db",
        type=int,
        default=REDIS_DATABASES["bench_web"],
        help="Redis database to flush and use as the cache (default: %(default)s)",
    )
    parser.add_argument(
        "--cache-url", help="another CACHE_URL, for a diagnosis (locmemcache:// is per worker, not shared)"
    )
    args = parser.parse_args()
    if args.quick:
        args.users, args.duration, args.rounds, args.warmup, args.pairs, args.pair_duration = 20, 1, 1, 1, 1, 1
    at_least_one = (args.pairs, args.pair_duration, args.duration, args.rounds, args.users, args.threads)
    if min(at_least_one) < 1 or args.connections < args.threads:
        parser.error(
            "--pairs, --pair-duration, --duration, --rounds, --users and --threads must be at least 1, "
            "--connections >= --threads."
        )
    return args


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """The demo settings as production would set them; the same for this process and gunicorn."""
    from cryptography.fernet import Fernet

    env = {name: value for name, value in os.environ.items() if not name.startswith("INTERCOM_IDENTITY_")}
    separator = "&" if "?" in args.database else "?"
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DEBUG="False",
        SECRET_KEY="bench-web-" + uuid.uuid4().hex,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"{args.database}{separator}conn_max_age={args.conn_max_age}",
        CACHE_URL=args.cache_url or f"{args.redis.rstrip('/')}/{args.redis_db}",
        INTERCOM_IDENTITY_ENVIRONMENT="development",
        INTERCOM_IDENTITY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        PYTHONUNBUFFERED="1",
    )
    return env


def recreate_database(url: str) -> None:
    import psycopg

    name = url.split("?", 1)[0].rsplit("/", 1)[1]
    admin_url = url.split("?", 1)[0].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def prepare_data(users: int, sessions_file: Path) -> None:
    """Migrate, store the iOS secret in phase "sending", create the users and one session each."""
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from intercom_identity.models import RolloutPhase
    from intercom_identity.rollout.changes import change_phase, store_secret
    from intercom_identity.selectors import get_platform_config

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        raise SystemExit(f"error: the benchmark writes database sessions; SESSION_ENGINE is {settings.SESSION_ENGINE}")
    call_command("migrate", verbosity=0)
    config = get_platform_config("ios", "development")
    store_secret(config, SECRET, reason="bench/web.py")
    change_phase(config, RolloutPhase.SENDING, reason="bench/web.py")
    User = get_user_model()
    created = User.objects.bulk_create(
        [
            User(username=f"bench-{n}", email=f"bench-{n}@example.com", password=make_password(None))
            for n in range(users)
        ]
    )
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    sessions = []
    for user in created:
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: user.get_session_auth_hash()}
        sessions.append(
            Session(session_key=get_random_string(32), session_data=store.encode(data), expire_date=expires)
        )
    Session.objects.bulk_create(sessions)
    sessions_file.write_text("".join(f"{session.session_key}\n" for session in sessions))
    connections.close_all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, cookie: str | None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """``(status, body)`` of a GET on the benchmark's own loopback server."""
    cookies = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    request = urllib.request.Request(url, headers={**cookies, **(headers or {})})  # noqa: S310 (http://127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], port: int, log: Any) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "project.wsgi:application",
        "--workers",
        str(args.workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(  # noqa: S603 (our own command line)
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_until_serving(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            status, _body = get(base + BARE, None)
            if status == 401:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"error: gunicorn did not answer within 30 s:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn (SIGTERM: graceful), then its whole process group if anything is left."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the group this script started (start_new_session)
    if process.poll() is None:
        process.wait(timeout=5)


def preflight(base: str, cookie: str) -> None:
    """Every endpoint answers 200 with what it should before anything is timed."""
    import json

    status, body = get(base + BARE, cookie)
    if status != 200 or "user_id" not in json.loads(body):
        raise SystemExit(f"error: GET {BARE} answered {status}: {body[:300]!r}")
    for headers in ({}, {"X-App-Version": "4.0.0"}):
        status, body = get(base + JSON_VIEW, cookie, headers)
        payload = json.loads(body)
        if status != 200 or not payload.get("user_hash"):
            raise SystemExit(f"error: GET {JSON_VIEW} {headers} answered {status}: {body[:300]!r}")
    status, _body = get(base + JSON_VIEW, None)
    if status != 401:
        raise SystemExit(f"error: GET {JSON_VIEW} without a session answered {status}, not 401")


def wrk(args: argparse.Namespace, base: str, endpoint: Endpoint, seconds: int, sessions: Path, tag: str) -> Run:
    command = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        (args.unlimited_base if endpoint.server == "unlimited" else base) + endpoint.path,
        "--",
        endpoint.mode,
        str(sessions),
        tag,
    ]
    completed = subprocess.run(  # noqa: S603 (our own command line)
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    match = WRK_RESULT.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        raise SystemExit(f"error: wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    values = {key: int(value) for key, value in (item.split("=") for item in match.group(1).split())}
    return Run(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        errors={key: values[key] for key in ("connect", "read", "write", "status", "timeout") if values[key]},
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
    )


def check(results: Results, endpoint: Endpoint, run: Run, what: str) -> None:
    if run.requests == 0:
        results.problems.append(f"{what} {endpoint.key}: no request completed")
    if run.errors:
        names = {"status": "non-2xx/3xx responses"}
        detail = ", ".join(f"{count} {names.get(kind, kind + ' errors')}" for kind, count in run.errors.items())
        results.problems.append(f"{what} {endpoint.key}: {detail} (of {run.requests} requests)")


def warm_up(args: argparse.Namespace, base: str, sessions: Path, results: Results) -> None:
    tag = uuid.uuid4().hex[:8]
    for endpoint in ENDPOINTS:
        done = 0
        # Steady state means every user's version is already remembered: warm up until each
        # wrk thread has walked through every user at least once (at most 10 warm-ups).
        needed = args.users * args.threads * 1.2 if endpoint.mode == "steady" else 0
        for attempt in range(10):
            run = wrk(args, base, endpoint, args.warmup, sessions, f"{tag}w{attempt}")
            check(results, endpoint, run, "warm-up")
            done += run.requests
            if done >= needed:
                break
        print(f"warm-up {endpoint.key}: {done:,} requests")


def measure(
    args: argparse.Namespace,
    base: str,
    sessions: Path,
    endpoints: list[Endpoint],
    rounds: int,
    seconds: int,
    name: str,
) -> Results:
    """``rounds`` rounds of a ``seconds`` run per endpoint. Every other round runs backwards,
    so that drift and what a run leaves behind (the worst case's writes, vacuum) fall on
    every endpoint alike."""
    results = Results(runs={endpoint.key: [] for endpoint in endpoints})
    tag = uuid.uuid4().hex[:8]
    for number in range(1, rounds + 1):
        line = []
        for endpoint in endpoints if number % 2 else endpoints[::-1]:
            time.sleep(SETTLE)
            run = wrk(args, base, endpoint, seconds, sessions, f"{tag}r{number}")
            check(results, endpoint, run, f"round {number}")
            results.runs[endpoint.key].append(run)
            line.append(f"{endpoint.key} {run.rps:,.0f} req/s p99 {run.p99_ms:.1f} ms")
        print(f"{name} {number}: " + " | ".join(line))
        sys.stdout.flush()
    return results


def recorded_rows() -> str:
    from django.db import connections

    from intercom_identity.models import AppVersion, ClientActivity, VersionTally

    try:
        return (
            f"rows after the run: {ClientActivity.objects.count():,} ClientActivity, "
            f"{AppVersion.objects.count():,} AppVersion, {VersionTally.objects.count():,} VersionTally"
        )
    finally:
        connections.close_all()


def report(args: argparse.Namespace, pairs: Results, recording: Results) -> None:
    def figure(results: Results, key: str) -> str:
        return f"{results.median_rps(key):,.0f} req/s, p99 {results.median_p99(key):.1f} ms"

    ratio = pairs.ratio("limited", "bare")
    limit_cost = pairs.ratio("limited", "off")
    spread = sorted(run.rps / base.rps for run, base in zip(pairs.runs["limited"], pairs.runs["bare"], strict=True))
    print_table(
        f"benchmark 2: the JSON view against a bare authenticated JSON view, {args.pairs} pair(s) of "
        f"{args.pair_duration} s runs: median throughput and p99 latency; x baseline: median of the pairs' "
        f"throughput ratios (they range from {spread[0]:.2f} to {spread[-1]:.2f})",
        [
            Row(ENDPOINTS[0].label + " (baseline)", figure(pairs, "bare"), 1.0),
            Row(ENDPOINTS[1].label, figure(pairs, "limited"), ratio, f">= {TARGET}x throughput", ratio >= TARGET),
            Row(ENDPOINTS[2].label, figure(pairs, "off"), pairs.ratio("off", "bare"), "reported"),
        ],
        figure_header="throughput, latency",
    )
    steady, worst = recording.ratio("steady", "off"), recording.ratio("worst", "off")
    rows = [
        Row(ENDPOINTS[2].label + " = recording off (baseline)", figure(recording, "off"), 1.0),
        Row(ENDPOINTS[3].label, figure(recording, "steady"), steady, "reported"),
        Row(ENDPOINTS[4].label, figure(recording, "worst"), worst, f">= {FLOOD_TARGET}x", worst >= FLOOD_TARGET),
    ]
    print_table(
        f"benchmark 5: recording client versions, on against off, {args.rounds} round(s) of {args.duration} s: "
        "median throughput and p99 latency; x baseline: median of the rounds' throughput ratios",
        rows,
        figure_header="throughput, latency",
    )
    print(
        f"JSON view: {ratio:.3f}x the bare view's throughput "
        f"(target >= {TARGET}x: {'PASS' if ratio >= TARGET else 'MISS'}); "
        f"p99 {pairs.median_p99('limited'):.1f} ms against {pairs.median_p99('bare'):.1f} ms."
    )
    print(
        f"rate limit: the JSON view with the default limit on at {limit_cost:.3f}x its throughput with the limit off "
        f"(target >= {TARGET}x: {'PASS' if limit_cost >= TARGET else 'MISS'}); "
        f"p99 {pairs.median_p99('limited'):.1f} ms against {pairs.median_p99('off'):.1f} ms."
    )
    print(
        f"recording on: {steady:.3f}x the throughput of recording off in steady state, {worst:.3f}x in the worst case "
        f"(one user, a new version every request; target >= {FLOOD_TARGET}x: "
        f"{'PASS' if worst >= FLOOD_TARGET else 'MISS'})."
    )


def begin(args: argparse.Namespace, title: str) -> dict[str, str]:
    """Check for wrk, take the servers' environment for this process too, print the header."""
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not installed (apt-get install -y wrk)")
    env = server_environment(args)
    os.environ.update(env)
    start(title)
    return env


def main() -> None:
    args = parse_args()
    env = begin(args, "bench/web.py: the JSON view under load, gunicorn + wrk on loopback (benchmarks 2 and 5)")
    print(
        f"setup: {args.users:,} users with a session each; gunicorn {args.workers} sync worker(s); "
        f"wrk {args.threads} thread(s), {args.connections} connection(s); PostgreSQL CONN_MAX_AGE={args.conn_max_age}; "
        f"CACHE_URL={env['CACHE_URL']}; rate limit: the default (120/min a user) on one server, off (0) on another"
    )
    recreate_database(args.database)
    if env["CACHE_URL"].startswith("redis"):
        flush_redis(env["CACHE_URL"])
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        sessions = Path(tmp) / "sessions.txt"
        log_path = Path(tmp) / "gunicorn.log"
        started = time.perf_counter()
        prepare_data(args.users, sessions)
        print(f"data ready in {time.perf_counter() - started:.1f} s")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        unlimited_port = free_port()
        args.unlimited_base = f"http://127.0.0.1:{unlimited_port}"
        with log_path.open("wb") as log:
            # Two servers, alike but for the rate limit: one load at a time, the other idles.
            server = start_gunicorn(args, env, port, log)
            unlimited = start_gunicorn(args, {**env, "INTERCOM_IDENTITY_HASH_RATE_LIMIT": "0"}, unlimited_port, log)
            try:
                wait_until_serving(server, base, log_path)
                wait_until_serving(unlimited, args.unlimited_base, log_path)
                preflight(base, sessions.read_text().split()[0])
                results = Results()
                if args.warmup:
                    warm_up(args, base, sessions, results)
                pairs = measure(args, base, sessions, ENDPOINTS[:3], args.pairs, args.pair_duration, "pair")
                recording = measure(args, base, sessions, ENDPOINTS[2:], args.rounds, args.duration, "round")
            finally:
                stop(server)
                stop(unlimited)
        server_log = log_path.read_text(errors="replace").strip()
    print(recorded_rows())
    report(args, pairs, recording)
    problems = results.problems + pairs.problems + recording.problems
    if problems:
        for problem in problems:
            print(f"error: {problem}")
        if server_log:
            print("gunicorn log (last lines):\n" + "\n".join(server_log.splitlines()[-20:]))
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""The benchmark scripts run, at a tiny size, and print their tables (timings are never asserted).

The figures of a tiny run mean nothing; ``make bench`` is the measurement. The PostgreSQL,
Redis and wrk ones are skipped when those are missing, and failed instead when
``INTERCOM_IDENTITY_REQUIRE_SERVICES=1`` (as in CI).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.localservices import REDIS_DATABASES, own_database, postgres_url, require

pytestmark = [pytest.mark.bench]

ROOT = Path(__file__).resolve().parent.parent
# Their own names, so a tiny run never wipes what a real `make bench` left behind.
ADOPTION_DATABASE = postgres_url(own_database("bench_tiny"))
WEB_DATABASE = postgres_url(own_database("bench_web_tiny"))
WEB_REDIS_DB = str(REDIS_DATABASES["bench_web_tiny"])
# Named after this checkout, so two checkouts running the suite at once never share it.
ACTIVITY_DATABASE = (
    postgres_url("activity_scale_tiny_")
    + hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
)
ACTIVITY_REDIS_DB = str(REDIS_DATABASES["bench_activity_tiny"])
MACHINE = re.compile(r"^machine: .+, \d+ cores.*, Python [\d.]+, Django [\d.]+, PostgreSQL .+, Redis .+$", re.MULTILINE)
TABLE_HEADER = re.compile(r"^what\s+.+\s+x baseline\s+target\s+result$", re.MULTILINE)


def run(script: str, *args: str, timeout: float = 60) -> str:
    """Run ``bench/<script>`` as `make bench` does; its output, after checking it exited 0."""
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, f"{script} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    output = completed.stdout
    assert MACHINE.search(output), output
    assert TABLE_HEADER.search(output), output
    return output


def has(output: str, pattern: str) -> bool:
    return re.search(pattern, output, re.MULTILINE) is not None


def test_hashing() -> None:
    output = run("hashing.py", "--quick")
    assert has(output, r"^hmac\.new\(key, msg, sha256\)\.hexdigest\(\), bytes in \(baseline\) .* 1\.000 "), output
    assert has(output, r"^compute_user_hash\(secret, user_id=\.\.\.\), str in .* [\d.]+ +<= 1\.3x +(PASS|MISS)$")
    assert has(output, r"^compute_user_hash: [\d.]+x the strict baseline .*(PASS|MISS)"), output
    for other in ("Fernet decrypt", "User.objects.get", "identity_payload", "GET /intercom/user-hash/"):
        assert other in output  # the context rows are kept


def test_activity_keys() -> None:
    output = run("activity_keys.py", "--quick")
    assert has(output, r"^record\(\), key in clear: user id, version, hour \(baseline\) .* 1\.000 "), output
    assert has(output, r"^record\(\), keyed digest \(BLAKE2b keyed from SECRET_KEY\) .* <= 1\.5x +(PASS|MISS)$"), output


def test_resolver() -> None:
    output = run("resolver.py", "--quick")
    assert has(output, r"^no resolver \(baseline\) .* req/s +1\.000 "), output
    for row in ("header names the default", "header names the other served one", "host_environment, mapped host"):
        assert has(output, rf"{row} .* req/s +[\d.]+ +>= 0\.95x +(PASS|MISS)$"), output
    assert has(output, r"^with a resolver: [\d.]+x the requests per second without one .*(PASS|MISS)"), output


def test_template() -> None:
    output = run("template.py", "--quick")
    assert has(output, r"^Template\('\{\{ user\.pk \}\}'\) \(baseline\) .* us/render +1\.000 "), output
    assert has(
        output, r"^Template\('\{% load intercom_identity %\}\{% intercom_settings %\}'\) .* <= 1\.5x +(PASS|MISS)$"
    )
    assert has(output, r"^template tag: [\d.]+x the \{\{ user\.pk \}\} template \(target <= 1\.5x: (PASS|MISS)\)"), (
        output
    )


def test_adoption() -> None:
    require("bench/adoption.py", postgres=True)
    output = run("adoption.py", "--users", "200", "--versions", "5", "--database", ADOPTION_DATABASE)
    assert has(output, r"^per-user scan of ClientActivity .*\(baseline\) .* ms +1\.000 "), output
    assert has(output, r"^readiness: adoption\(with_daily=False\).* ms +[\d.]+ +< 200 ms +(PASS|MISS)$"), output
    assert has(output, r"^readiness query: [\d.]+ ms \(target < 200 ms: (PASS|MISS)\)$"), output
    assert has(output, r"^plan uses an index: (yes|no) .*(PASS|MISS)\)$"), output
    assert has(output, r"^plan of the readiness query \(EXPLAIN ANALYZE"), output
    assert "actual time=" in output  # EXPLAIN ANALYZE, not a bare EXPLAIN


def test_web() -> None:
    require("bench/web.py", postgres=True, redis=True, wrk=True)
    output = run("web.py", "--quick", "--database", WEB_DATABASE, "--redis-db", WEB_REDIS_DB, timeout=120)
    assert has(output, r"^pair 1: bare [\d,]+ req/s p99 [\d.]+ ms \| limited [\d,]+ req/s .* \| off [\d,]+ req/s"), (
        output
    )  # benchmark 2
    assert has(output, r"^round 1: off [\d,]+ req/s .* \| steady .* \| worst "), output  # benchmark 5
    assert has(output, r"^bare authenticated JsonResponse GET /api/whoami/ \(baseline\) .* req/s, p99 [\d.]+ ms"), (
        output
    )
    assert has(output, r"^JSON view GET /intercom/user-hash/\?platform=ios, .* >= 0\.9x throughput +(PASS|MISS)$")
    assert has(output, r"^JSON view: [\d.]+x the bare view's throughput \(target >= 0\.9x: (PASS|MISS)\); p99 "), output
    assert has(
        output, r"^rate limit: .* on at [\d.]+x its throughput with the limit off \(target >= 0\.9x: (PASS|MISS)\)"
    )
    assert has(
        output, r"^recording on: [\d.]+x .* steady state, [\d.]+x in the worst case \(one user, .*(PASS|MISS)\)\.$"
    ), output
    assert has(output, r"^JSON view, one user flooding: .* >= 0\.8x +(PASS|MISS)$"), output
    assert "error:" not in output


def test_activity_scale() -> None:
    require("bench/activity_scale.py", postgres=True, redis=True)
    output = run(
        "activity_scale.py", "--quick", "--database", ACTIVITY_DATABASE, "--redis-db", ACTIVITY_REDIS_DB, timeout=180
    )
    assert has(output, r"^baseline: the same mix, each write one single-row UPDATE.* writes [\d.]+ ms +1\.000 "), output
    assert has(output, r"^activity\.record .* calls/s, writes [\d.]+ ms +[\d.]+ +reported"), output
    assert has(output, r"^retention off: sample [\d,]+ daily rows, .* rows, [\d.]+ [kMGT]?B +1\.000 "), output
    assert has(output, r"^retention 90 days: sample .* daily rows <= users x 91 days \([\d,]+\) +(PASS|MISS)$"), output
    assert has(output, r"^longest recording call during the prune .* < 1000 ms +(PASS|MISS)$"), output
    assert has(output, r"^prune_activity\(\) +[\d.,]+ s .* < 300 s .*(PASS|MISS)$"), output
    assert has(output, r"^tallies after the prune equal a recount +yes .* PASS$"), output
    assert has(output, r"^a user with [\d,]+ daily rows .* queries .* no query per row +PASS$"), output
    assert has(output, r"^prune: [\d.]+ s for [\d,]+ daily rows \(target < 300 s: (PASS|MISS)\); longest "), output


RECORDING_STATS_DATABASE = postgres_url(own_database("bench_recording_stats_tiny"))


def test_recording_stats() -> None:
    require("bench/recording_stats.py", postgres=True)
    output = run("recording_stats.py", "--quick", "--database", RECORDING_STATS_DATABASE, timeout=180)
    assert has(output, r"^empty day \(baseline\) +[\d.]+ ms/call +1\.000 "), output
    assert has(output, r"^[\d,]+ rows today, stale statistics: get\(\) \(shipped\) .* <= 1\.5x +(PASS|MISS)$"), output
    assert has(output, r"^recording with [\d,]+ rows today under stale statistics: [\d.]+x an empty day"), output


CONNECTIONS_DATABASE = postgres_url(own_database("bench_connections_tiny"))


def test_connections() -> None:
    require("bench/connections.py", postgres=True, wrk=True)
    output = run("connections.py", "--quick", "--database", CONNECTIONS_DATABASE, timeout=120)
    assert has(output, r"^pair 1: per request [\d,]+ req/s p99 [\d.]+ ms \| persistent [\d,]+ req/s"), output
    assert has(output, r"^CONN_MAX_AGE=0: a connection per request \(baseline\) .* req/s, p99 [\d.]+ ms +1\.000 "), (
        output
    )
    assert has(output, r"^CONN_MAX_AGE=60 \+ CONN_HEALTH_CHECKS \(the demo's default\) .* req/s"), output
    assert has(output, r"^persistent connections: [\d.]+x the throughput of a connection per request\.$"), output
    assert "error:" not in output


def test_login() -> None:
    output = run("login.py", "--quick")
    assert has(output, r"^POST /api/token/, SimpleJWT's serializer \(baseline\) .* us/req +1\.000 "), output
    assert has(output, r"^POST /api/token/ \+ intercom, JWT platform .* <= 1\.5x +(PASS|MISS)$"), output
    assert has(output, r"^GET IntercomIdentityView \?platform=android \(fresh JWT\) .* <= 2\.0x +(PASS|MISS)$"), output
    assert has(output, r"^login: [\d.]+x \(hash platform\), [\d.]+x \(JWT platform\)"), output


ASGI_DATABASE = postgres_url(own_database("bench_asgi_tiny"))


def test_asgi() -> None:
    require("bench/asgi.py", postgres=True, wrk=True)
    output = run("asgi.py", "--quick", "--database", ASGI_DATABASE, timeout=180)
    assert MACHINE.search(output), output
    assert TABLE_HEADER.search(output), output
    assert has(output, r"^pair 1: bare [\d,]+ req/s p99 [\d.]+ ms \| json [\d,]+ req/s"), output
    for interface, kind in (("ASGI", "async "), ("WSGI", "")):
        json_row = rf"^{interface} 1\. {kind}JSON view GET /intercom/user-hash/\?platform=ios .* >= 0\.9x +(PASS|MISS)$"
        assert has(output, json_row), output
        assert has(output, rf"^{interface} 2\. page GET / with MessengerSessionMiddleware .* (PASS|MISS)$"), output
    # The pool bounds the connections whatever the figures: this one must pass.
    assert has(output, r"^ASGI 3\. most PostgreSQL connections at once over [\d,]+ requests .* PASS$"), output
    assert "error:" not in output


def test_memory() -> None:
    output = run("memory.py", "--quick", timeout=300)
    assert has(output, r"^bench\.memory_settings: bare page \+ bare JSON view \(baseline\) +[\d.]+ MiB +1\.000 "), (
        output
    )
    assert has(
        output, r"^project\.settings: home page with the tag \+ JSON view +[\d.]+ MiB +[\d.]+ +<= 1\.15x +(PASS|MISS)$"
    )
    assert has(output, r"^the same, secrets from the environment \(none decrypted\) +[\d.]+ MiB +[\d.]+ "), output
    assert has(
        output, r"^memory: [\d.]+x the worker without the app after 200 requests \(target <= 1\.15x: (PASS|MISS)\)$"
    )
    assert "0 errors" in output

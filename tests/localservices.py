"""The local services some tests start things against: PostgreSQL, Redis and wrk, and the
PostgreSQL and Redis server programs for tests that run servers of their own.

A test that needs one that is missing is skipped, or failed when
``INTERCOM_IDENTITY_REQUIRE_SERVICES=1`` (CI sets it, so a missing service cannot hide a test).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)

# Who uses which database of the shared Redis server: each flushes or fills only its own, so that the
# suite, a `make bench` and the multi-server test never wipe each other's keys. Add a user here, not
# in a comment of the test that needs one; the benchmarks take their --redis-db defaults from here.
REDIS_DATABASES = {
    "demo": 0,  # the demo's CACHE_URL (README, bench/common.py); the demo settings tests only parse it
    "bench_activity_tiny": 10,  # tests/test_bench.py: bench/activity_scale.py --quick
    "bench_activity": 11,  # bench/activity_scale.py's default (make bench)
    "bench_web_tiny": 12,  # tests/test_bench.py: bench/web.py --quick
    "bench_web": 13,  # bench/web.py's default (make bench)
    "multiserver": 14,  # tests/test_multiserver.py
    "suite": 15,  # the live-Redis tests of tests/test_faults.py and tests/_internal/test_configcache.py
}


def redis_url(user: str) -> str:
    """``redis://127.0.0.1:6379/<n>``: the database of ``user`` in ``REDIS_DATABASES``."""
    host, port = REDIS
    return f"redis://{host}:{port}/{REDIS_DATABASES[user]}"


def redis_cache(user: str) -> dict[str, dict[str, str]]:
    """``CACHES`` of Django's Redis backend on the database of ``user``."""
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url(user)}}


def postgres_url(database: str) -> str:
    """``postgres://postgres@127.0.0.1:5432/<database>``."""
    host, port = POSTGRES
    return f"postgres://postgres@{host}:{port}/{database}"


# The PostgreSQL databases tests make for themselves (the multi-server test's, the benchmarks' tiny
# runs') are named from this prefix, so that two checkouts on one machine can run the suite at the
# same time without dropping each other's: INTERCOM_IDENTITY_TEST_DATABASE_PREFIX=mine.
DATABASE_PREFIX = os.environ.get("INTERCOM_IDENTITY_TEST_DATABASE_PREFIX") or "intercom_identity"


def own_database(name: str) -> str:
    """``<prefix>_<name>``: the name of a database a test creates (and drops) itself."""
    if not DATABASE_PREFIX.replace("_", "").isalnum() or not DATABASE_PREFIX.isascii():
        pytest.fail("INTERCOM_IDENTITY_TEST_DATABASE_PREFIX must be letters, digits and '_'", pytrace=False)
    return f"{DATABASE_PREFIX}_{name}"


def reachable(address: tuple[str, int], timeout: float = 1.0) -> bool:
    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex(address) == 0


def postgres_bin() -> Path | None:
    """The directory of PostgreSQL's server programs (``initdb``, ``postgres``): the newest
    of Debian's ``/usr/lib/postgresql/*/bin``, else the one ``initdb`` is found in on the PATH."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: _version_key(path.parent.name))
    for directory in reversed(candidates):
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def require(
    what: str,
    *,
    postgres: bool = False,
    redis: bool = False,
    wrk: bool = False,
    postgres_server: bool = False,
    redis_server: bool = False,
) -> None:
    """Skip (or fail, in CI) unless the named services (or, ``*_server``, the programs to run
    one's own) are there; ``what`` says who needs them."""
    missing = []
    if postgres and not reachable(POSTGRES):
        missing.append("PostgreSQL on 127.0.0.1:5432")
    if redis and not reachable(REDIS):
        missing.append("Redis on 127.0.0.1:6379")
    if wrk and shutil.which("wrk") is None:
        missing.append("wrk (apt-get install -y wrk)")
    if postgres_server and postgres_bin() is None:
        missing.append("PostgreSQL's initdb and postgres (apt-get install -y postgresql)")
    if redis_server and shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install -y redis-server)")
    if not missing:
        return
    reason = f"{what} needs {' and '.join(missing)}"
    if os.environ.get("INTERCOM_IDENTITY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (INTERCOM_IDENTITY_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)

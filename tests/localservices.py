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


def reachable(address: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
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

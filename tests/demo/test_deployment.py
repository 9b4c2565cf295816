"""The demo's deployment settings (``project/settings.py``): persistent database connections
with health checks and short Redis time-outs by default, each from the environment, the URLs'
own options first; log lines that say when, how bad, from where and which worker. (The app's
own settings from the environment: ``tests/demo/test_settings.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RECORD
from tests.localservices import postgres_url, redis_url

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = postgres_url("demo")
REDIS_URL = redis_url("demo")

SHOW = """
import json
from django.conf import settings
database, cache = settings.DATABASES["default"], settings.CACHES["default"]
print(json.dumps({
    "conn_max_age": database.get("CONN_MAX_AGE"),
    "conn_health_checks": database.get("CONN_HEALTH_CHECKS"),
    "cache_options": cache.get("OPTIONS"),
}))
"""

LOG = """
import logging, django
django.setup()
logging.getLogger("intercom_identity.outages").warning("Intercom identity: a record.")
"""


def demo(script: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``script`` under the demo's settings with only ``variables`` set of the deployment's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INTERCOM_IDENTITY_", "DJANGO_", "DATABASE_", "CACHE_"))
    }
    env.update(DJANGO_SETTINGS_MODULE="project.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )


def settings_with(**variables: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(
        demo("import django; django.setup()\n" + SHOW, **variables).stdout.splitlines()[-1]
    )
    return shown


def test_persistent_checked_connections_and_short_redis_time_outs_by_default() -> None:
    assert settings_with(DATABASE_URL=POSTGRES_URL, CACHE_URL=REDIS_URL) == {
        "conn_max_age": 60,
        "conn_health_checks": True,
        "cache_options": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
    }


def test_each_is_set_from_the_environment() -> None:
    assert settings_with(
        DATABASE_URL=POSTGRES_URL,
        CACHE_URL=REDIS_URL,
        DATABASE_CONN_MAX_AGE="0",
        DATABASE_CONN_HEALTH_CHECKS="False",
        CACHE_SOCKET_TIMEOUT="1.5",
        CACHE_CONNECT_TIMEOUT="2",
    ) == {
        "conn_max_age": 0,
        "conn_health_checks": False,
        "cache_options": {"socket_timeout": 1.5, "socket_connect_timeout": 2.0},
    }


def test_the_urls_own_options_win() -> None:
    shown = settings_with(
        DATABASE_URL=POSTGRES_URL + "?conn_max_age=10&conn_health_checks=False",
        CACHE_URL=REDIS_URL + "?socket_timeout=0.1",
        DATABASE_CONN_MAX_AGE="600",
        CACHE_SOCKET_TIMEOUT="3",
    )
    assert (shown["conn_max_age"], shown["conn_health_checks"]) == (10, False)
    assert shown["cache_options"] == {"socket_timeout": 0.1, "socket_connect_timeout": 0.25}


@pytest.mark.parametrize("cache_url", ["locmemcache://", "dummycache://"])
def test_only_redis_gets_socket_options(cache_url: str) -> None:
    assert settings_with(CACHE_URL=cache_url)["cache_options"] is None


def test_log_lines_say_when_how_bad_where_and_which_worker() -> None:
    line = demo(LOG).stderr.strip().splitlines()[-1]
    match = RECORD.match(line)
    assert match is not None, line
    assert match.group(2, 3, 5) == ("WARNING", "intercom_identity.outages", "Intercom identity: a record.")
    assert match.group(4).isdigit()

"""The circuit breaker around every cache call of the app (``intercom_identity/_internal/cacheguard.py``).

After a cache error or time-out a process leaves the cache alone for
``INTERCOM_IDENTITY_CACHE_COOLDOWN`` seconds, serving from its own copy and the database, then
lets one call try again. The fault backends here count every call that reaches them.
"""

from __future__ import annotations

import ast
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity import compute_user_hash, identity_payload
from intercom_identity._internal import cacheguard, configcache
from intercom_identity._internal.cacheguard import CacheUnavailable
from intercom_identity.checks import check_settings
from intercom_identity.models import PlatformConfig, RolloutPhase
from tests.helpers import SECRETS, FaultyCache, configure

URL = "/intercom/user-hash/"
PACKAGE = Path(__file__).resolve().parents[2] / "intercom_identity"


FAULTY = {"default": {"BACKEND": "tests.helpers.FaultyCache"}}


@pytest.fixture
def faulty() -> Iterator[type[FaultyCache]]:
    """The faulty cache as the default cache, broken, with the rate limit on (every request counts)."""
    FaultyCache.broken, FaultyCache.calls = True, 0
    FaultyCache.store = {}
    with override_settings(CACHES=FAULTY, INTERCOM_IDENTITY_HASH_RATE_LIMIT=1000):
        yield FaultyCache


@pytest.fixture
def ios(db: None, django_capture_on_commit_callbacks: Any) -> PlatformConfig:
    with django_capture_on_commit_callbacks(execute=True):
        return configure("development", "ios", RolloutPhase.SENDING)


# --- the circuit ---------------------------------------------------------------------


def test_after_an_error_the_cache_is_left_alone_for_the_cool_down(
    faulty: type[FaultyCache], clock: list[float]
) -> None:
    with pytest.raises(CacheUnavailable):
        cacheguard.cache.get("k")
    assert faulty.calls == 1
    for _ in range(50):
        with pytest.raises(CacheUnavailable):
            cacheguard.cache.get("k")
    assert faulty.calls == 1, "no call reaches the cache during the cool-down"

    clock[0] += 5.0  # the default cool-down
    with pytest.raises(CacheUnavailable):
        cacheguard.cache.incr("k")
    assert faulty.calls == 2, "one call tries again after the cool-down"
    clock[0] += 4.9
    with pytest.raises(CacheUnavailable):
        cacheguard.cache.set("k", 1)
    assert faulty.calls == 2, "and its failure starts another cool-down"


def test_a_cache_that_answers_again_is_used_again(faulty: type[FaultyCache], clock: list[float]) -> None:
    with pytest.raises(CacheUnavailable):
        cacheguard.cache.get("k")
    faulty.broken = False
    clock[0] += 5.0
    cacheguard.cache.set("k", 41)
    assert cacheguard.cache.get("k") == 41
    assert cacheguard.cache.add("j", 1) is True
    assert faulty.calls == 4


def test_the_cool_down_is_a_setting_and_zero_means_every_call_tries(faulty: type[FaultyCache]) -> None:
    with override_settings(INTERCOM_IDENTITY_CACHE_COOLDOWN=0):
        for _ in range(3):
            with pytest.raises(CacheUnavailable):
                cacheguard.cache.get("k")
    assert faulty.calls == 3


def test_a_missing_key_for_incr_is_an_answer_not_a_failure(faulty: type[FaultyCache]) -> None:
    faulty.broken = False
    with pytest.raises(ValueError, match="not found"):
        cacheguard.cache.incr("missing")
    cacheguard.cache.set("k", 1)
    assert cacheguard.cache.incr("k") == 2
    assert faulty.calls == 3


def test_another_cache_configuration_is_another_circuit(faulty: type[FaultyCache]) -> None:
    with pytest.raises(CacheUnavailable):
        cacheguard.cache.get("k")
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cacheguard.cache.set("k", "v")
        assert cacheguard.cache.get("k") == "v"


def test_every_cache_call_of_the_app_goes_through_the_guard() -> None:
    """Only cacheguard imports Django's cache: a module that did would escape the breaker."""
    escaping = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cacheguard.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.core.cache":
                escaping.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert escaping == []


# --- through the JSON view ------------------------------------------------------------


@pytest.mark.django_db
def test_one_request_meets_the_failure_and_the_next_ones_make_no_cache_call(
    faulty: type[FaultyCache], ios: PlatformConfig, user: Any
) -> None:
    """Rate limits (two buckets), the configuration version and the recording memory all ask the
    cache: after the first failure none of them does, for the whole cool-down."""
    client = Client()
    client.force_login(user)
    expected = compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
    answers = [client.get(URL, {"platform": "ios"}, headers={"X-App-Version": f"2.{n % 3}"}) for n in range(20)]
    assert [answer.status_code for answer in answers] == [200] * 20
    assert {answer.json()["user_hash"] for answer in answers} == {expected}
    assert faulty.calls == 1


class HungServer:
    """A TCP server that accepts connections and never answers: a frozen Redis, as the kernel
    still completes the handshake of a stopped process. ``connections`` counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _address = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.sock.close()


@pytest.fixture
def hung_redis() -> Iterator[HungServer]:
    server = HungServer()
    options = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}
    location = f"redis://127.0.0.1:{server.port}/0"
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location, "OPTIONS": options}
    }
    with override_settings(CACHES=caches, INTERCOM_IDENTITY_HASH_RATE_LIMIT=1000):
        yield server
    server.close()


@pytest.mark.django_db
def test_a_hung_cache_costs_one_time_out_per_cool_down(hung_redis: HungServer, ios: PlatformConfig, user: Any) -> None:
    client = Client()
    client.force_login(user)
    started = time.monotonic()
    statuses = [client.get(URL, {"platform": "ios"}).status_code for _ in range(30)]
    elapsed = time.monotonic() - started
    assert statuses == [200] * 30
    assert len(hung_redis.connections) == 1, "one attempt, one time-out, then the cache is left alone"
    assert elapsed < 30 * 0.2, f"30 requests took {elapsed:.1f} s: at least one time-out each"


@pytest.mark.django_db
def test_without_a_cool_down_a_hung_cache_costs_a_time_out_per_call(
    hung_redis: HungServer, ios: PlatformConfig, user: Any
) -> None:
    """What the breaker spares: every cache call waits for the client's time-out."""
    client = Client()
    client.force_login(user)
    with override_settings(INTERCOM_IDENTITY_CACHE_COOLDOWN=0):
        started = time.monotonic()
        assert [client.get(URL, {"platform": "ios"}).status_code for _ in range(3)] == [200] * 3
        elapsed = time.monotonic() - started
    assert len(hung_redis.connections) >= 6  # two rate-limit buckets each, at least
    assert elapsed >= 6 * 0.2


@pytest.mark.django_db
def test_without_the_cache_the_configuration_is_read_at_most_every_check_interval(
    faulty: type[FaultyCache], ios: PlatformConfig, user: Any, clock: list[float]
) -> None:
    """A request does not read the configuration twice, and a change nobody announced (the cache
    is down) is still served within VERSION_CHECK_INTERVAL, as when the cache is up."""
    assert identity_payload(user, "ios")["phase"] == "sending"
    from django.db import connection

    with CaptureQueriesContext(connection) as context:
        assert identity_payload(user, "ios")["phase"] == "sending"
    assert context.captured_queries == []
    PlatformConfig.objects.filter(pk=ios.pk).update(phase=RolloutPhase.OFF)  # no signal, no bump
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
    assert identity_payload(user, "ios")["phase"] == "off"


# --- the setting ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, "5", True, 601, float("nan"), float("inf"), None])
def test_a_malformed_cool_down_is_error_e021(value: object) -> None:
    with override_settings(INTERCOM_IDENTITY_CACHE_COOLDOWN=value):
        assert [m.id for m in check_settings()] == ["intercom_identity.E021"]


@pytest.mark.parametrize("value", [0, 0.5, 5, 600])
def test_a_cool_down_of_zero_to_ten_minutes_is_accepted(value: object) -> None:
    with override_settings(INTERCOM_IDENTITY_CACHE_COOLDOWN=value):
        assert check_settings() == []


@pytest.mark.django_db  # the model checks ask the database about JSON fields on Django 6
def test_manage_py_check_fails_on_a_malformed_cool_down() -> None:
    with override_settings(INTERCOM_IDENTITY_CACHE_COOLDOWN="5s"), pytest.raises(SystemCheckError, match="E021"):
        call_command("check")

"""The rate limit (_internal/ratelimit.py): one bucket a request, the right client, one round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, RequestFactory, override_settings

from intercom_identity._internal import ratelimit
from intercom_identity._internal.cacheguard import cache
from tests.helpers import FaultyCache, users
from tests.localservices import redis_cache, require

pytestmark = pytest.mark.django_db

URL = "/intercom/user-hash/"
VERIFY = "/intercom/verify/"
LOGIN = "/api/login/"
FAULTY = {"default": {"BACKEND": "tests.helpers.FaultyCache"}}


def address(**meta: str) -> str:
    return ratelimit.client_address(RequestFactory().get("/", **meta))[0]


# --- which client ------------------------------------------------------------------------------------


def test_remote_addr_by_default_whatever_the_headers_say() -> None:
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9") == "10.0.0.1"
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9") == "10.0.0.1"


@override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES=1)
def test_one_trusted_proxy_reads_the_address_it_appended() -> None:
    # The client prepended a lie; the proxy appended what it saw.
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9") == "203.0.113.9"


@override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES=2)
def test_two_trusted_proxies_read_the_second_address_from_the_right() -> None:
    forwarded = "1.1.1.1, 203.0.113.9, 10.0.0.2"
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded) == "203.0.113.9"
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="[2001:db8::7]:443") == "2001:db8::7"


@override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES="X-Real-IP")
def test_a_header_name_reads_that_header() -> None:
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9:5000") == "203.0.113.9"
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1") == "10.0.0.1"  # ignored


@override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES=1)
def test_a_forwarded_value_that_is_no_address_falls_back_to_remote_addr() -> None:
    assert address(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>, \x1b[2J") == "10.0.0.1"
    assert address(REMOTE_ADDR="10.0.0.1") == "10.0.0.1"


def test_ipv6_clients_share_their_slash_64() -> None:
    assert ratelimit.address_bucket("2001:db8:1:2::1") == ratelimit.address_bucket("2001:db8:1:2:ffff::9")
    assert ratelimit.address_bucket("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert ratelimit.address_bucket("2001:db8:1:3::1") != ratelimit.address_bucket("2001:db8:1:2::1")
    assert ratelimit.address_bucket("::ffff:203.0.113.9") == "203.0.113.9"
    assert ratelimit.address_bucket("203.0.113.9") == "203.0.113.9"
    assert ratelimit.address_bucket("") == "unknown"


# --- the buckets through the views -------------------------------------------------------------------


@override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=2)
def test_many_users_behind_one_address_are_not_limited_together(all_secrets: Any) -> None:
    for person in users(5, "nat"):
        client = Client(REMOTE_ADDR="10.0.0.1")
        client.force_login(person)
        assert [client.get(URL, {"platform": "ios"}).status_code for _ in range(2)] == [200, 200]


@override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=2)
def test_one_user_is_limited_from_every_address(all_secrets: Any) -> None:
    (person,) = users(1, "roam")
    client = Client()
    client.force_login(person)
    codes = [client.get(URL, {"platform": "ios"}, REMOTE_ADDR=f"10.0.0.{n}").status_code for n in range(3)]
    assert codes == [200, 200, 429]


@override_settings(INTERCOM_IDENTITY_VERIFY_RATE_LIMIT=2)
def test_anonymous_requests_behind_a_proxy_count_per_forwarded_client(all_secrets: Any) -> None:
    """The emulator, anonymous, behind one proxy: without the setting every client is the proxy."""

    def verify(client_ip: str) -> int:
        return (
            Client()
            .post(
                VERIFY,
                {"platform": "ios"},
                content_type="application/json",
                REMOTE_ADDR="10.0.0.1",
                HTTP_X_FORWARDED_FOR=client_ip,
            )
            .status_code
        )

    assert [verify(f"203.0.113.{n}") for n in range(3)][-1] == 429  # default: all the proxy's
    caches["default"].clear()
    with override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES=1):
        assert {verify(f"203.0.113.{n}") for n in range(3)} != {429}
        assert 429 not in [verify(f"198.51.100.{n}") for n in range(6)]
        assert [verify("203.0.113.50") for _ in range(3)][-1] == 429  # one client still is limited


@override_settings(LOGIN_RATE_LIMIT=2)
def test_the_demo_login_is_rate_limited_per_address() -> None:
    def login(ip: str) -> int:
        body = {"username": "nobody", "password": "wrong", "platform": "ios"}
        return Client().post(LOGIN, body, content_type="application/json", REMOTE_ADDR=ip).status_code

    assert [login("10.0.0.1") for _ in range(3)] == [401, 401, 429]
    assert login("10.0.0.2") == 401


# --- the cache: one round trip; open or closed when it is down -----------------------------------------


@override_settings(CACHES=FAULTY, INTERCOM_IDENTITY_HASH_RATE_LIMIT=1)
def test_a_cache_that_is_down_limits_nothing_by_default(user_client: Client, all_secrets: Any) -> None:
    FaultyCache.broken = True
    assert {user_client.get(URL, {"platform": "ios"}).status_code for _ in range(3)} == {200}


@override_settings(CACHES=FAULTY, INTERCOM_IDENTITY_HASH_RATE_LIMIT=1, INTERCOM_IDENTITY_RATE_LIMIT_FAIL_CLOSED=True)
def test_fail_closed_answers_503_while_the_cache_is_down(user_client: Client, all_secrets: Any) -> None:
    FaultyCache.broken = True
    response = user_client.get(URL, {"platform": "ios"})
    assert response.status_code == 503
    assert response.json()["error"] == "rate_limit_unavailable"
    assert int(response["Retry-After"]) >= 1


@pytest.fixture
def redis_counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The suite's Redis database as the cache; how many commands were sent (round trips) and
    redis-py clients built."""
    require("the round-trip test", redis=True)
    import redis
    from redis.connection import Connection

    counts = {"round_trips": 0, "clients": 0}
    send, init = Connection.send_packed_command, redis.Redis.__init__

    def counted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["round_trips"] += 1
        return send(self, *args, **kwargs)

    def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
        counts["clients"] += 1
        init(self, *args, **kwargs)

    with override_settings(CACHES=redis_cache("suite")):
        caches["default"].clear()
        monkeypatch.setattr(Connection, "send_packed_command", counted_send)
        monkeypatch.setattr(redis.Redis, "__init__", counted_init)
        yield counts
        monkeypatch.undo()
        caches["default"].clear()


def test_counting_costs_one_round_trip_and_no_client_per_request(redis_counted: dict[str, int]) -> None:
    ratelimit.retry_after("warm", 5)  # builds the pool and the one client
    redis_counted.update(round_trips=0, clients=0)
    waits = [ratelimit.retry_after("one-trip", 3) for _ in range(5)]
    assert waits[:3] == [None, None, None]
    assert all(w is not None and 1 <= w <= 60 for w in waits[3:])
    assert redis_counted == {"round_trips": 5, "clients": 0}


def test_the_counter_expires_with_its_window(redis_counted: dict[str, int]) -> None:
    ratelimit.retry_after("ttl", 5)
    backend = caches["default"]
    (key,) = [k for k in backend._cache.get_client().keys("*") if b":rate:ttl:" in k]  # type: ignore[attr-defined]
    assert 0 < backend._cache.get_client().ttl(key) <= ratelimit.WINDOW + 1  # type: ignore[attr-defined]
    assert cache.count(key.decode().split(":", 2)[-1], timeout=61) == 2  # the same counter, by its app key


# --- W014 ----------------------------------------------------------------------------------------------


# W004 (a process-local cache while DEBUG is off with a database server) fires on PostgreSQL runs.
@override_settings(SILENCED_SYSTEM_CHECKS=["intercom_identity.W004"])
def test_check_warns_of_forwarding_headers_the_setting_ignores(user_client: Client, all_secrets: Any) -> None:
    call_command("check")  # nothing seen yet: quiet
    user_client.get(URL, {"platform": "ios"}, HTTP_X_FORWARDED_FOR="203.0.113.9")
    with pytest.raises(SystemCheckError, match=r"intercom_identity.W014.*X-Forwarded-For"):
        call_command("check", fail_level="WARNING")
    with override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES=1):
        call_command("check", fail_level="WARNING")  # now honoured: quiet


@override_settings(SILENCED_SYSTEM_CHECKS=["intercom_identity.W004"])
def test_check_w014_is_told_by_another_process_through_the_cache(user_client: Client, all_secrets: Any) -> None:
    user_client.get(URL, {"platform": "ios"}, HTTP_X_REAL_IP="203.0.113.9")
    ratelimit.forget_sightings()  # this process forgets; the cache remembers for the others
    with pytest.raises(SystemCheckError, match=r"W014.*X-Real-IP"):
        call_command("check", fail_level="WARNING")


@pytest.mark.parametrize("value", [-1, 11, True, "X-Forwarded-For", "forwarded", "not a header", "", 1.5])
def test_a_malformed_trusted_proxies_is_e031(value: Any) -> None:
    with override_settings(INTERCOM_IDENTITY_TRUSTED_PROXIES=value), pytest.raises(SystemCheckError, match=r"\.E031"):
        call_command("check")


def test_a_malformed_fail_closed_is_e030() -> None:
    with (
        override_settings(INTERCOM_IDENTITY_RATE_LIMIT_FAIL_CLOSED="yes"),
        pytest.raises(SystemCheckError, match=r"\.E030"),
    ):
        call_command("check")

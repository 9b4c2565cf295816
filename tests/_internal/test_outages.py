"""Bounded logging during an outage (``intercom_identity/_internal/outages.py``): each distinct problem
once with its traceback, then at most once a minute with counts, then once on recovery; no
secret or token in any of it (the suite's leak guard reads every record, tracebacks included)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client, override_settings

from intercom_identity._internal import outages
from intercom_identity._internal.outages import Outage
from intercom_identity.models import Environment, RolloutPhase
from tests import leakguard
from tests.helpers import FaultyCache, configure, render, settings_of

URL = "/intercom/user-hash/"
APP = "intercom_identity"
CACHE_PASSWORD = "cache-password-0123456789"  # in the cache's location: never in a record


@pytest.fixture
def records(caplog: Any) -> Iterator[Any]:
    """Captures the app's log records from INFO up, as a deployment logs them (the demo does; the
    messenger middleware says at DEBUG, per request, that it left a session it could not read)."""
    with caplog.at_level(logging.INFO, APP):
        yield caplog


def app_records(records: Any) -> list[logging.LogRecord]:
    return [record for record in records.records if record.name.startswith(APP)]


@pytest.fixture
def ready(db: None) -> None:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "ios", RolloutPhase.SENDING)
    configure("development", "web", RolloutPhase.SENDING)


@pytest.fixture
def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    leakguard.remember_secret(client.cookies["sessionid"].value)  # a token: never in a record
    return client


def database_down(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("server closed the connection unexpectedly")


# --- one outage, unit by unit -------------------------------------------------------------


def failure(kind: type[Exception] = ConnectionError) -> Exception:
    try:
        raise kind("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    except Exception as exc:
        return exc


def test_each_problem_once_with_its_traceback_then_counted(records: Any, clock: list[float]) -> None:
    outage = Outage("the cache", affected="served without it", level=logging.WARNING)
    for _ in range(500):
        outage.failed(failure(), "serving without it")
    outage.failed(failure(TimeoutError), "serving without it")
    outage.failed(failure(TimeoutError), "serving without it")

    first, second = app_records(records)
    assert first.getMessage().startswith(
        "Intercom identity: the cache is unavailable (ConnectionError): serving without it."
    )
    assert second.getMessage().startswith("Intercom identity: the cache is unavailable (TimeoutError)")
    assert first.exc_info is not None
    assert second.exc_info is not None
    assert first.levelno == logging.WARNING


def test_at_most_once_a_minute_while_it_lasts_with_what_was_not_logged(records: Any, clock: list[float]) -> None:
    outage = Outage("the database", affected="answered without it", level=logging.ERROR)
    outage.failed(failure(OperationalError), "the JSON views answer 503")
    for _ in range(149):  # a failure a second for two and a half minutes
        clock[0] += 1
        outage.failed(failure(OperationalError), "the JSON views answer 503")

    messages = [record.getMessage() for record in app_records(records)]
    assert len(messages) == 3, messages
    assert messages[1] == (
        "Intercom identity: the database is still unavailable after 60 s: 61 requests answered without it "
        "so far; 60 more errors not logged (django.db.utils.OperationalError 60)."
    )
    assert messages[2].startswith("Intercom identity: the database is still unavailable after 120 s: 121 requests")
    assert all(record.exc_info is None for record in app_records(records)[1:])


def test_once_when_it_recovers_with_how_long_and_how_many(records: Any, clock: list[float]) -> None:
    outage = Outage("the cache", affected="served without it", level=logging.WARNING)
    outage.failed(failure(), "serving without it")
    for _ in range(8_990):
        outage.served_without()
    clock[0] += 12
    outage.available()
    outage.available()

    assert [record.getMessage() for record in app_records(records)][1:] == [
        "Intercom identity: the cache is available again after 12 s, 8,991 requests served without it."
    ]
    assert not outage.down


def test_an_answer_right_after_a_failure_does_not_end_the_outage(records: Any, clock: list[float]) -> None:
    """A service failing one call in two (a full disk) is one outage, not two records a request."""
    outage = Outage("the database", affected="answered without it", level=logging.ERROR)
    for _ in range(100):
        outage.failed(failure(OperationalError), "client versions are not recorded")
        clock[0] += 0.1
        outage.available()
    assert len(app_records(records)) == 1
    assert outage.down
    clock[0] += outages.QUIET
    outage.available()
    assert app_records(records)[-1].getMessage().startswith("Intercom identity: the database is available again")


def test_a_later_outage_is_logged_again() -> None:
    outage = Outage("the cache", affected="served without it", level=logging.WARNING)
    outage.failed(failure(), "x")
    outage.forget()
    assert not outage.down


# --- through the app ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cache_outage_is_one_record_then_one_on_recovery_counting_requests(
    ready: None, signed_in: Client, records: Any, clock: list[float]
) -> None:
    """Each request asks the cache several times (rate limits, version, recording): it counts once.
    Before, the rate limiter alone logged two tracebacks a request."""
    FaultyCache.broken, FaultyCache.store = True, {}
    faulty = {"default": {"BACKEND": "tests.helpers.FaultyCache", "LOCATION": f":{CACHE_PASSWORD}@redis"}}
    leakguard.remember_secret(CACHE_PASSWORD)
    with override_settings(CACHES=faulty, INTERCOM_IDENTITY_HASH_RATE_LIMIT=1000):
        for n in range(200):
            clock[0] += 0.01
            response = signed_in.get(URL, {"platform": "ios"}, headers={"X-App-Version": f"1.{n % 4}"})
            assert response.status_code == 200
        (outage,) = app_records(records)
        assert outage.name == "intercom_identity.outages"
        assert outage.exc_info is not None
        assert "the cache is unavailable (ConnectionError): cache.count failed" in outage.getMessage()

        FaultyCache.broken = False
        clock[0] += 5  # the cool-down
        assert signed_in.get(URL, {"platform": "ios"}).status_code == 200
    assert [record.getMessage() for record in app_records(records)][1:] == [
        "Intercom identity: the cache is available again after 7.0 s, 200 requests served without it."
    ]


@pytest.mark.django_db
def test_a_database_outage_is_one_record_then_one_on_recovery(
    ready: None, signed_in: Client, records: Any, clock: list[float]
) -> None:
    """Before, every 503 logged a traceback."""
    with connection.execute_wrapper(database_down):
        answers = [signed_in.get(URL, {"platform": "ios"}) for _ in range(30)]
        for _ in range(5):
            signed_in.post("/intercom/verify/", {"platform": "ios"}, content_type="application/json")
    assert {(answer.status_code, answer.json()["error"]) for answer in answers} == {(503, "database_unavailable")}
    (outage,) = app_records(records)
    assert outage.levelno == logging.ERROR
    assert outage.exc_info is not None
    assert outage.getMessage().startswith(
        "Intercom identity: the database is unavailable (django.db.utils.OperationalError): "
        "the JSON views answer 503 database_unavailable."
    )

    clock[0] += outages.QUIET
    assert signed_in.get(URL, {"platform": "ios"}).status_code == 200
    assert app_records(records)[-1].getMessage() == (
        "Intercom identity: the database is available again after 1.0 s, 35 requests answered without it."
    )


@pytest.mark.django_db
def test_distinct_database_problems_are_each_logged_once(ready: None, signed_in: Client, records: Any) -> None:
    def connection_closed(*args: Any) -> Any:
        raise InterfaceError("connection already closed")

    for wrapper in (database_down, connection_closed, database_down, connection_closed):
        with connection.execute_wrapper(wrapper):
            for _ in range(3):
                answer = signed_in.get(URL, {"platform": "ios"})
                assert (answer.status_code, answer.json()["error"]) == (503, "database_unavailable")
    problems = [record.getMessage().split("(")[1].split(")")[0] for record in app_records(records)]
    assert problems == ["django.db.utils.OperationalError", "django.db.utils.InterfaceError"]


@pytest.mark.django_db
def test_the_messenger_and_the_json_view_share_the_database_outage(
    ready: None, user: Any, signed_in: Client, records: Any
) -> None:
    assert settings_of(render(user))["user_hash"]
    with connection.execute_wrapper(database_down):
        pages = [render(user) for _ in range(10)]
        answers = [signed_in.get(URL, {"platform": "ios"}).status_code for _ in range(10)]
    assert {tuple(settings_of(page)) for page in pages} == {("app_id",)}
    assert answers == [503] * 10
    (outage,) = app_records(records)
    assert "the messenger boots without identity" in outage.getMessage()


@pytest.mark.django_db
def test_recording_errors_go_through_the_database_outage(ready: None, user: Any, records: Any) -> None:
    from intercom_identity.rollout.activity import record_client

    def writes_fail(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith("SELECT"):
            raise OperationalError("could not extend file: No space left on device")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(writes_fail):
        results = [record_client(user, "ios", f"3.{n}") for n in range(20)]
    assert results == [False] * 20
    (outage,) = app_records(records)
    assert "client versions are not recorded" in outage.getMessage()

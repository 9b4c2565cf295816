"""Misconfigured ``INTERCOM_IDENTITY_USER_ID`` / ``USER_EMAIL`` callables: a value that is not a
``str`` (or an ``int`` id) gives the user no identity and one logged error per process, never a
broken page and never a hash of a ``repr()``."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.test import Client, override_settings

from intercom_identity import compute_user_hash
from intercom_identity.credentials import users
from intercom_identity.models import ClientActivity, Environment, RolloutPhase
from tests.helpers import SECRETS, AsyncBridge, configure, openssl_hmac, render, settings_of

pytestmark = pytest.mark.django_db

WEB = SECRETS[("development", "web")]


@pytest.fixture
def web(db: None) -> None:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "web", RolloutPhase.SENDING)
    configure("development", "ios", RolloutPhase.SENDING)


def no_id(user: Any) -> None:
    return None


def errors_about(caplog: Any, setting: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and setting in r.getMessage()]


@pytest.mark.parametrize("bad_email", [42, b"jane@example.com", ["jane@example.com"], True])
def test_non_string_email_never_breaks_the_page(web: None, user: Any, caplog: Any, bad_email: object) -> None:
    misconfigured = override_settings(INTERCOM_IDENTITY_USER_ID=no_id, INTERCOM_IDENTITY_USER_EMAIL=lambda u: bad_email)
    with misconfigured, caplog.at_level(logging.ERROR):
        first = settings_of(render(user))
        second = settings_of(render(user))
    assert first == second == {"app_id": "abc123"}
    assert len(errors_about(caplog, "INTERCOM_IDENTITY_USER_EMAIL")) == 1  # once per process, not per request


@pytest.mark.parametrize("bad_id", [b"42", 4.2, True, object()])
def test_non_string_id_is_never_hashed_as_its_repr(web: None, user: Any, caplog: Any, bad_id: object) -> None:
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: bad_id), caplog.at_level(logging.ERROR):
        html = render(user)
        client = Client()
        client.force_login(user)
        payload = client.get("/intercom/user-hash/", {"platform": "ios"}).json()
    assert compute_user_hash(WEB, user_id=str(bad_id)) not in html
    assert settings_of(html) == {"app_id": "abc123"}
    assert payload["user_id"] is None
    assert payload["user_hash"] is None
    assert payload["identified_by"] is None
    assert len(errors_about(caplog, "INTERCOM_IDENTITY_USER_ID")) == 1


def test_an_int_id_is_a_real_id(web: None, user: Any) -> None:
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: 42):
        settings = settings_of(render(user))
    assert settings["user_id"] == "42"
    assert settings["user_hash"] == compute_user_hash(WEB, user_id="42")


def test_an_id_that_is_not_utf8_text_gives_no_identity(web: None, user: Any, caplog: Any) -> None:
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: "4\ud8002"), caplog.at_level(logging.ERROR):
        assert settings_of(render(user)) == {"app_id": "abc123"}
    assert len(errors_about(caplog, "INTERCOM_IDENTITY_USER_ID")) == 1


def broken(arg: Any) -> None:
    raise AttributeError("'User' object has no attribute 'profile'")


@pytest.mark.parametrize("setting", ["INTERCOM_IDENTITY_USER_ID", "INTERCOM_IDENTITY_USER_EMAIL"])
def test_a_callable_that_raises_never_breaks_the_page(web: None, user: Any, caplog: Any, setting: str) -> None:
    """The page used to break with the callable's exception."""
    with override_settings(**{setting: broken}), caplog.at_level(logging.ERROR):
        html = render(user)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        response = client.get("/intercom/user-hash/", {"platform": "ios"})
    assert "user_hash" not in html
    assert response.status_code == 503
    assert response.json()["error"] == "misconfigured"
    assert errors_about(caplog, setting)


@pytest.mark.parametrize("url", ["/intercom/user-hash/?platform=ios", "/intercom/verify/"])
def test_an_authenticate_callable_that_raises_is_a_json_503(web: None, caplog: Any, url: str) -> None:
    with override_settings(INTERCOM_IDENTITY_AUTHENTICATE=broken), caplog.at_level(logging.ERROR):
        client = Client(raise_request_exception=False)
        response = client.generic("GET" if "user-hash" in url else "POST", url, '{"platform": "ios"}')
    assert response.status_code == 503
    assert response.json()["error"] == "misconfigured"
    assert errors_about(caplog, "INTERCOM_IDENTITY_AUTHENTICATE")


def test_a_raising_callable_logs_its_traceback_once_then_counts(
    web: None, user: Any, caplog: Any, monkeypatch: Any
) -> None:
    """It used to log a full traceback on every request."""
    with override_settings(INTERCOM_IDENTITY_USER_ID=broken), caplog.at_level(logging.ERROR):
        for _ in range(5):
            assert "user_hash" not in render(user)
        first = errors_about(caplog, "INTERCOM_IDENTITY_USER_ID")
        assert len(first) == 1
        assert first[0].exc_info is not None
        assert "once per process" in first[0].getMessage()
        monkeypatch.setattr(users, "REPORT_INTERVAL", 0.0)
        render(user)
        counted = errors_about(caplog, "INTERCOM_IDENTITY_USER_ID")[1:]
    assert [record.getMessage() for record in counted] == [
        "INTERCOM_IDENTITY_USER_ID raised AttributeError 5 more times."
    ]
    assert counted[0].exc_info is None


# --- INTERCOM_IDENTITY_AUTHENTICATE, sync or async, through the sync and the async view -------------


async def authenticate_by_header(request: HttpRequest) -> Any:
    """An ``async def`` callable, as a token authentication would be: the user its header names."""
    username = request.headers.get("X-Test-User")
    return None if username is None else await get_user_model()._default_manager.filter(username=username).afirst()


async def abroken(request: HttpRequest) -> None:
    raise AttributeError("'User' object has no attribute 'profile'")


def client_for(view: str, settings: Any) -> Any:
    """``Client`` (the sync view) or ``AsyncClient`` (the async view, ``intercom_identity.urls_async``)."""
    if view == "sync":
        return Client(raise_request_exception=False)
    settings.ROOT_URLCONF = "tests.urls_async"
    return AsyncBridge()


@pytest.mark.parametrize("view", ["sync", "async"])
def test_an_async_authenticate_callable_is_awaited(web: None, user: Any, settings: Any, view: str) -> None:
    """The async view awaits it; the sync view runs it to completion. No session: the header alone."""
    client = client_for(view, settings)
    with override_settings(INTERCOM_IDENTITY_AUTHENTICATE=authenticate_by_header):
        response = client.get(
            "/intercom/user-hash/", {"platform": "ios"}, headers={"X-Test-User": "jane", "X-App-Version": "2.0.0"}
        )
        nobody = client.get("/intercom/user-hash/", {"platform": "ios"})
    assert response.status_code == 200
    assert response.json()["user_hash"] == openssl_hmac(SECRETS[("development", "ios")], str(user.pk))
    assert ClientActivity.objects.get(user=user).version == "2.0.0"
    assert (nobody.status_code, nobody.json()["error"]) == (401, "not_authenticated")


@pytest.mark.parametrize("view", ["sync", "async"])
@pytest.mark.parametrize("callable_", [broken, abroken], ids=["def", "async def"])
def test_an_authenticate_callable_that_raises_logs_its_traceback_once_then_counts(
    web: None, caplog: Any, monkeypatch: Any, settings: Any, view: str, callable_: Any
) -> None:
    """The same rule for every callable on every view (the async one used to log a traceback per request)."""
    client = client_for(view, settings)
    with override_settings(INTERCOM_IDENTITY_AUTHENTICATE=callable_), caplog.at_level(logging.ERROR):
        for _ in range(5):
            response = client.get("/intercom/user-hash/", {"platform": "ios"})
            assert (response.status_code, response.json()["error"]) == (503, "misconfigured")
        (first,) = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("intercom_identity")]
        assert "INTERCOM_IDENTITY_AUTHENTICATE raised AttributeError" in first.getMessage()
        assert first.exc_info is not None
        monkeypatch.setattr(users, "REPORT_INTERVAL", 0.0)
        client.get("/intercom/user-hash/", {"platform": "ios"})
        counted = errors_about(caplog, "INTERCOM_IDENTITY_AUTHENTICATE")[1:]
    assert [record.getMessage() for record in counted] == [
        "INTERCOM_IDENTITY_AUTHENTICATE raised AttributeError 5 more times."
    ]
    assert counted[0].exc_info is None

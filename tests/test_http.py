"""http.py: the JSON answers of the app's endpoints when they cannot answer normally, always
``{"error": code, "detail": sentence}``, and never the reason of a server-side problem."""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.test import RequestFactory, override_settings

from intercom_identity import http
from intercom_identity._internal.cacheguard import CacheUnavailable
from intercom_identity.exceptions import (
    IdentityCallableRaised,
    MissingSecret,
    SecretDecryptionError,
    UnknownEnvironment,
    UnknownPlatform,
    UnservedEnvironment,
)

# Server-side reasons that must reach the log, never the client.
HIDDEN = "production/ios: key 3 of INTERCOM_IDENTITY_ENCRYPTION_KEYS"


def body(response: JsonResponse) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response.content)
    return parsed


def test_every_error_has_the_one_shape() -> None:
    response = http.error_response(418, "teapot", "Short and stout.")
    assert (response.status_code, response["Content-Type"]) == (418, "application/json")
    assert body(response) == {"error": "teapot", "detail": "Short and stout."}


def test_method_not_allowed_names_the_method_and_the_allowed_ones() -> None:
    response = http.method_not_allowed(RequestFactory().put("/"), ("GET", "POST"))
    assert (response.status_code, response["Allow"]) == (405, "GET, POST")
    assert body(response) == {"error": "method_not_allowed", "detail": "PUT is not allowed here; use GET or POST."}


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (UnknownPlatform("Unknown platform 'tv'"), 400, "unknown_platform"),
        (UnservedEnvironment("staging"), 400, "unknown_environment"),  # an UnknownEnvironment, but the client's
        (UnknownEnvironment(HIDDEN), 503, "environment_not_configured"),
        (MissingSecret(HIDDEN), 503, "secret_missing"),
        (SecretDecryptionError(HIDDEN), 503, "secret_unavailable"),
        (OperationalError(HIDDEN), 503, "database_unavailable"),
        (InterfaceError(HIDDEN), 503, "database_unavailable"),
        (ImproperlyConfigured(HIDDEN), 503, "misconfigured"),
        (IdentityCallableRaised(HIDDEN), 503, "misconfigured"),
        (TooManyFieldsSent(HIDDEN), 400, "bad_request"),
    ],
)
def test_error_for_is_the_one_table_of_answers(exc: Exception, status: int, code: str) -> None:
    answer = http.error_for(exc)
    assert answer is not None
    assert answer[:2] == (status, code)
    assert HIDDEN not in answer[2]


def test_a_client_mistake_says_what_was_wrong() -> None:
    assert http.error_for(UnservedEnvironment("staging")) == (
        400,
        "unknown_environment",
        "This server does not serve the Intercom environment 'staging'.",
    )
    assert http.error_for(TooManyFieldsSent("x")) == (400, "bad_request", "The request was refused: TooManyFieldsSent.")


def test_a_bug_has_no_answer_and_propagates() -> None:
    assert http.error_for(KeyError("bug")) is None
    assert http.error_for(ValueError("bug")) is None


def test_a_server_side_reason_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="intercom_identity.http"):
        http.error_for(MissingSecret(HIDDEN))
        http.error_for(IdentityCallableRaised(HIDDEN))  # logged where it was raised: not again
        http.error_for(UnknownPlatform("Unknown platform 'tv'"))  # the client's mistake: not logged
    assert [record.getMessage() for record in caplog.records] == [f"Intercom identity unavailable: {HIDDEN}"]


def test_unavailable_answers_a_bug_with_a_503_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="intercom_identity.http"):
        response = http.unavailable(RuntimeError(HIDDEN))
    assert response.status_code == 503
    assert body(response)["error"] == "secret_unavailable"
    assert HIDDEN not in response.content.decode()
    assert HIDDEN in caplog.text
    assert body(http.unavailable(UnknownPlatform("Unknown platform 'tv'")))["error"] == "unknown_platform"


def test_unserved_is_a_400() -> None:
    response = http.unserved(UnservedEnvironment("staging"))
    assert (response.status_code, body(response)["error"]) == (400, "unknown_environment")


# --- json_errors: the views' answers instead of Django's HTML error pages ------------------------------


def failing_view(exc: Exception) -> Any:
    def view(request: HttpRequest) -> JsonResponse:
        raise exc

    return view


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (OperationalError(HIDDEN), 503, "database_unavailable"),
        (ImproperlyConfigured(HIDDEN), 503, "misconfigured"),
        (SuspiciousOperation(HIDDEN), 400, "bad_request"),
        (UnservedEnvironment("staging"), 400, "unknown_environment"),
    ],
)
def test_json_errors_answers_what_a_view_raises(exc: Exception, status: int, code: str) -> None:
    response = http.json_errors(failing_view(exc))(RequestFactory().get("/"))
    assert (response.status_code, body(response)["error"]) == (status, code)
    assert HIDDEN not in response.content.decode()


def test_json_errors_lets_a_bug_propagate() -> None:
    with pytest.raises(KeyError):
        http.json_errors(failing_view(KeyError("bug")))(RequestFactory().get("/"))


def test_json_errors_keeps_an_async_view_async() -> None:
    async def view(request: HttpRequest) -> JsonResponse:
        raise ImproperlyConfigured(HIDDEN)

    async def fine(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    wrapped = http.json_errors(view)
    assert inspect.iscoroutinefunction(wrapped)
    assert not inspect.iscoroutinefunction(http.json_errors(failing_view(KeyError("x"))))
    response = async_to_sync(wrapped)(RequestFactory().get("/"))
    assert (response.status_code, body(response)["error"]) == (503, "misconfigured")
    assert body(async_to_sync(http.json_errors(fine))(RequestFactory().get("/"))) == {"ok": True}


# --- rate limits ------------------------------------------------------------------------------------------


def test_over_the_limit_is_a_429_with_retry_after_per_environment() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    assert http.rate_limited(request, "hash", 1, environment="development") is None
    response = http.rate_limited(request, "hash", 1, environment="development")
    assert response is not None
    assert (response.status_code, body(response)["error"]) == (429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert f"retry in {response['Retry-After']} seconds" in body(response)["detail"]
    # Another workspace's traffic has a count of its own.
    assert http.rate_limited(request, "hash", 1, environment="production") is None


@pytest.mark.parametrize(("cooldown", "retry_after"), [(2.5, "3"), (0, "1")])
def test_a_cache_that_cannot_count_is_a_503_retried_after_the_cooldown(
    monkeypatch: pytest.MonkeyPatch, cooldown: float, retry_after: str
) -> None:
    def down(bucket: str, limit: int) -> int | None:
        raise CacheUnavailable

    monkeypatch.setattr(http, "retry_after", down)
    with override_settings(INTERCOM_IDENTITY_CACHE_COOLDOWN=cooldown):
        response = http.rate_limited(RequestFactory().get("/"), "hash", 1)
    assert response is not None
    assert (response.status_code, body(response)["error"], response["Retry-After"]) == (
        503,
        "rate_limit_unavailable",
        retry_after,
    )


# --- read_body ------------------------------------------------------------------------------------------


def test_read_body_gives_the_body() -> None:
    request = RequestFactory().post("/", data=b'{"a": 1}', content_type="application/json")
    assert http.read_body(request) == b'{"a": 1}'


def test_a_content_length_that_is_not_a_number_is_a_400_on_every_django() -> None:
    request = RequestFactory().post("/", data=b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "twelve"
    answer = http.read_body(request)
    assert isinstance(answer, JsonResponse)
    assert (answer.status_code, body(answer)["error"]) == (400, "invalid_body")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10)
def test_a_body_larger_than_the_server_accepts_is_a_413() -> None:
    request = RequestFactory().post("/", data=b'{"padding": "' + b"x" * 20 + b'"}', content_type="application/json")
    answer = http.read_body(request)
    assert isinstance(answer, JsonResponse)
    assert (answer.status_code, body(answer)["error"]) == (413, "body_too_large")

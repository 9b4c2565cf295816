"""workspace/client.py: reading Intercom's REST API through its official SDK, against a local server
answering as Intercom documents: refusals, rate limits, time-outs, malformed answers, regions,
redirects and the deadline, each a ``WorkspaceUnavailable`` with a reason that never holds the token
(seen through the command, ``manage.py intercom_identity workspace ENV``)."""

from __future__ import annotations

import json
import sys
import time
import traceback
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from intercom_identity.constants import REST_API_BASES
from intercom_identity.models import Environment, PlatformConfig, WorkspaceEvent, WorkspaceSnapshot
from intercom_identity.validators import MAX_INTERCOM_ID_LENGTH
from intercom_identity.workspace import client as intercom_api
from intercom_identity.workspace import sync as workspace
from tests.helpers import command_result
from tests.intercom_fake import (
    TOKENS,
    FakeIntercom,
    ago,
    assert_sync_failed,
    error_list,
    log_page,
    me,
    slow,
)

pytestmark = pytest.mark.django_db

PROD = TOKENS["production"]


# --- every failure: exit 2, one line, never the token -----------------------------------


def test_a_failure_shows_the_token_nowhere() -> None:
    with pytest.raises(intercom_api.WorkspaceUnavailable) as raised:
        intercom_api.read_workspace("http://127.0.0.1:9", PROD, since=ago(days=1))  # nothing listens there
    failure = raised.value
    assert failure.reason
    for text in (repr(failure), str(failure), failure.reason):
        assert PROD not in text


@pytest.mark.parametrize(
    ("status", "code", "needles"),
    [
        (401, "unauthorized", ("401", "unauthorized", "set-api-token")),
        (403, "api_plan_restricted", ("403", "api_plan_restricted", "Read admins")),
        (404, "not_found", ("404", "region", "INTERCOM_IDENTITY_API_BASE_URL")),
        (500, "server_error", ("500", "server error")),
        (503, "service_unavailable", ("503", "try again later")),
    ],
)
def test_refusals_and_server_errors(
    intercom: FakeIntercom, httpserver: HTTPServer, status: int, code: str, needles: tuple[str, ...]
) -> None:
    httpserver.expect_request("/me").respond_with_json(error_list(code), status=status)
    assert_sync_failed("GET /me", *needles)
    intercom.assert_sent_by_the_sdk(PROD, "/me")  # once: the SDK's own retries are off


def test_429_waits_for_its_reset_then_reads(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 1
    httpserver.expect_oneshot_request("/me").respond_with_json(
        error_list("rate_limit_exceeded"),
        status=429,
        headers={"X-RateLimit-Limit": "166", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    intercom.answer(identity_verification=False)
    assert command_result("workspace", "production")[0] == 0
    assert time.time() >= reset  # it waited for the window to turn over
    intercom.assert_sent_by_the_sdk(PROD, "/me", "/me", "/admins/activity_logs")


def test_429_with_a_reset_beyond_the_bound_fails_at_once(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/me").respond_with_json(
        error_list("rate_limit_exceeded"), status=429, headers={"X-RateLimit-Reset": str(int(time.time()) + 600)}
    )
    started = time.monotonic()
    error = assert_sync_failed("429", "resets in", "try again then")
    assert time.monotonic() - started < 3
    assert "longer than the 15 s" in error
    intercom.assert_sent_by_the_sdk(PROD, "/me")


def test_429_without_reset_headers_fails_at_once(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/me").respond_with_json(error_list("rate_limit_exceeded"), status=429)
    started = time.monotonic()
    assert_sync_failed("429", "did not say when it resets")
    assert time.monotonic() - started < 3
    intercom.assert_sent_by_the_sdk(PROD, "/me")


def test_a_second_429_after_waiting_fails(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/me").respond_with_json(
        error_list("rate_limit_exceeded"), status=429, headers={"X-RateLimit-Reset": str(int(time.time()))}
    )
    assert_sync_failed("429", "again")
    intercom.assert_sent_by_the_sdk(PROD, "/me", "/me")


def test_a_time_out(intercom: FakeIntercom, httpserver: HTTPServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(intercom_api, "TIMEOUT_SECONDS", 0.3)
    httpserver.expect_request("/me").respond_with_handler(slow(1.0, me(identity_verification=False)))
    started = time.monotonic()
    assert_sync_failed("did not answer GET /me within 0.3 s")
    assert time.monotonic() - started < 0.9


def test_nobody_listening(intercom: FakeIntercom, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    assert_sync_failed("Could not reach Intercom at 127.0.0.1:9", "ConnectError")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("<html>Bad gateway</html>", "is not JSON"),
        ("[]", "no app object"),
        (json.dumps({"type": "admin", "app": "prodapp1"}), "no app object"),
        (json.dumps(me(identity_verification="maybe")), "identity_verification is not true or false"),  # type: ignore[arg-type]
        (json.dumps(me(identity_verification=True, id_code=None)), "app.id_code"),
    ],
)
def test_a_malformed_me(intercom: FakeIntercom, httpserver: HTTPServer, body: str, needle: str) -> None:
    httpserver.expect_request("/me").respond_with_data(body, content_type="application/json")
    assert_sync_failed("GET /me", "malformed" if "JSON" not in needle else "", needle)


@pytest.mark.parametrize(
    ("page", "needle"),
    [
        ({"type": "contact.list", "data": []}, "not an activity_log.list"),
        (log_page([{"id": "1", "activity_type": "messenger_api_secret_creation", "created_at": "yesterday"}]), "Unix"),
        (log_page([{"activity_type": "app_identity_verification_change", "created_at": 1}]), "has no id"),
        ({**log_page([]), "activity_logs": "none"}, "not a list"),
    ],
)
def test_a_malformed_log(intercom: FakeIntercom, httpserver: HTTPServer, page: dict[str, Any], needle: str) -> None:
    httpserver.expect_request("/me").respond_with_json(me(identity_verification=False))
    httpserver.expect_request("/admins/activity_logs").respond_with_json(page)
    assert_sync_failed("GET /admins/activity_logs (page 1) is malformed", needle)


# Shaped like an access token but made of identifier characters only: what the old rule
# ("a plain identifier") echoed. Supplied by settings, so the leak guard watches for it.
IDENTIFIER_TOKEN = "dG9rOmFhYmJjY2RkLTExMjItMzM0NC01NTY2Nzc4ODk5_echoed"


@pytest.mark.parametrize("status", [401, 403, 404, 418])
def test_an_error_code_outside_intercoms_vocabulary_is_not_repeated(
    intercom: FakeIntercom, httpserver: HTTPServer, settings: Any, caplog: Any, status: int
) -> None:
    """An endpoint at the API URL that answers with the token as its error code gets nothing echoed:
    not in the command's output, the log, the snapshot (what the admin's message and overview show)."""
    settings.INTERCOM_IDENTITY_API_TOKENS = {**TOKENS, "production": IDENTIFIER_TOKEN}
    httpserver.expect_request("/me").respond_with_json(error_list(IDENTIFIER_TOKEN), status=status)
    error = assert_sync_failed("GET /me", str(status))
    assert IDENTIFIER_TOKEN not in error
    assert "echoed" not in error
    assert all(IDENTIFIER_TOKEN not in record.getMessage() for record in caplog.records)
    assert IDENTIFIER_TOKEN not in WorkspaceSnapshot.objects.get(environment__slug="production").error


@pytest.mark.parametrize("parse", ["secret", "log entry"])
def test_an_intercom_id_longer_than_its_column_is_refused(parse: str) -> None:
    """What the client accepts fits the models' columns (``MAX_INTERCOM_ID_LENGTH`` both)."""

    def read(entry_id: str) -> str:
        if parse == "secret":
            flags = {"supports_android": False, "supports_ios": True, "supports_web": False}
            return intercom_api._parse_secret({"id": entry_id, "name": "s", **flags}, "secret #1 of the list").id
        log = {"id": entry_id, "activity_type": "app_identity_verification_change", "created_at": 1}
        return intercom_api._parse_log(log, "app_identity_verification_change", 1).id

    longest = "7" * MAX_INTERCOM_ID_LENGTH
    assert read(longest) == longest
    with pytest.raises(intercom_api._Malformed, match="no id"):
        read(longest + "7")
    for model, field in ((PlatformConfig, "intercom_secret_id"), (WorkspaceEvent, "intercom_id")):
        assert model._meta.get_field(field).max_length == MAX_INTERCOM_ID_LENGTH


def test_only_documented_error_codes_are_repeated() -> None:
    assert intercom_api._error_code(error_list("token_revoked")) == "token_revoked"
    for code in ("some_identifier", "Unauthorized", "unauthorized ", "x" * 10, None, 42):
        assert intercom_api._error_code({"errors": [{"code": code}]}) == ""


def test_a_malformed_entry_is_named_by_its_position_not_intercoms_id(
    intercom: FakeIntercom, httpserver: HTTPServer
) -> None:
    entry = {"id": "entry_id_from_intercom", "activity_type": "messenger_api_secret_creation", "created_at": "x"}
    httpserver.expect_request("/me").respond_with_json(me(identity_verification=False))
    httpserver.expect_request("/admins/activity_logs").respond_with_json(log_page([entry]))
    error = assert_sync_failed("messenger_api_secret_creation entry #1 of the page", "Unix")
    assert "entry_id_from_intercom" not in error


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"id": "secret_id_from_intercom", "supports_android": "yes"}, "supports_android of secret #2 of the list"),
        ({"id": "secret_id_from_intercom", "created_at": "x"}, "the created_at of secret #2 of the list"),
        ({"id": "secret\nid_from_intercom"}, "secret #2 of the list has no id"),
    ],
)
def test_a_malformed_secret_is_named_by_its_position_not_intercoms_id(
    intercom: FakeIntercom,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    entry: dict[str, Any],
    problem: str,
) -> None:
    flags = {"supports_android": True, "supports_ios": True, "supports_web": True}
    listed = [{"id": "9001", "name": "made by hand", **flags}, {"name": "n", **flags, **entry}]
    httpserver.expect_request("/secure_mode_secrets").respond_with_json({"type": "list", "data": listed})
    intercom.answer(identity_verification=False)
    workspace.sync("production")
    error = WorkspaceSnapshot.objects.get(environment__slug="production").secrets_error
    assert problem in error
    assert "id_from_intercom" not in error
    assert "id_from_intercom" not in caplog.text
    assert any(problem in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


def sync_failure() -> intercom_api.WorkspaceUnavailable:
    with pytest.raises(intercom_api.WorkspaceUnavailable) as caught:
        workspace.sync("production")
    return caught.value


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (429, {"X-RateLimit-Reset": str(int(time.time()) + 600)}),  # resets too far away
        (429, {}),  # says not when
        (403, {}),
        (500, {}),
    ],
)
def test_a_failure_from_code_chains_nothing_of_the_sdks(
    intercom: FakeIntercom, httpserver: HTTPServer, status: int, headers: dict[str, str]
) -> None:
    """``workspace.sync()`` called from code: the exception has no cause or context, so no traceback
    printer shows the SDK's ``ApiError`` with Intercom's body and headers."""
    body = {**error_list("rate_limit_exceeded"), "secret_body_marker": "x"}
    httpserver.expect_request("/me").respond_with_json(body, status=status, headers={**headers, "X-Marker": "hdr"})
    failure = sync_failure()
    assert failure.__cause__ is None
    assert failure.__context__ is None
    printed = "".join(traceback.format_exception(failure))
    assert "secret_body_marker" not in printed
    assert "X-Marker" not in printed


def test_without_the_sdk_the_error_says_what_to_install(intercom: FakeIntercom, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "intercom", None)  # import intercom now raises ImportError
    assert_sync_failed('pip install "intercom-identity[workspace]"', "python-intercom")
    assert intercom.requests() == []


def test_an_unexpected_sdk_error_is_a_reason_not_a_traceback(intercom: FakeIntercom, monkeypatch: Any) -> None:
    def broken(self: Any, request: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom with {request.headers['Authorization']}")

    monkeypatch.setattr(httpx.Client, "send", broken)
    error = assert_sync_failed("failed unexpectedly", "RuntimeError")
    assert "boom" not in error


# --- regions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "host"), [("us", "api.intercom.io"), ("eu", "api.eu.intercom.io"), ("au", "api.au.intercom.io")]
)
def test_a_region_decides_the_base_url(settings: Any, region: str, host: str) -> None:
    """Without INTERCOM_IDENTITY_API_BASE_URL the SDK is pointed at the region's host (an httpx
    transport answers in place of the network)."""
    settings.INTERCOM_IDENTITY_API_BASE_URL = None
    settings.INTERCOM_IDENTITY_API_TOKENS = {"production": PROD}
    Environment.objects.filter(slug="production").update(region=region, app_id="prodapp1")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/me":
            body = me(identity_verification=False)
        elif request.url.path == "/secure_mode_secrets":
            body = {"type": "list", "data": []}
        else:
            body = log_page([])
        return httpx.Response(200, json=body)

    result = workspace.sync("production", transport=httpx.MockTransport(handler))
    assert result["drift"] == []
    assert [(r.method, r.url.scheme, r.url.host, r.url.path) for r in seen] == [
        ("GET", "https", host, "/me"),
        ("GET", "https", host, "/admins/activity_logs"),
        ("GET", "https", host, "/secure_mode_secrets"),
    ]
    assert all(r.headers["Authorization"] == f"Bearer {PROD}" for r in seen)
    # The Preview version on the secrets call only.
    assert [r.headers["Intercom-Version"] for r in seen] == ["2.14", "2.14", "Preview"]


def test_the_regions_are_the_sdks() -> None:
    from intercom.environment import IntercomEnvironment

    assert sorted(REST_API_BASES.values()) == sorted(e.value for e in IntercomEnvironment)


def test_a_redirect_is_not_followed(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    """A redirect would carry the token to another host: it is an unexpected answer instead."""
    httpserver.expect_request("/me").respond_with_data("", status=302, headers={"Location": "http://127.0.0.1:9/me"})
    assert_sync_failed("unexpected status 302")
    intercom.assert_sent_by_the_sdk(PROD, "/me")


def test_the_whole_read_has_a_deadline(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    """Each page answers within the time-out, but paging on would take too long: it stops, saying so."""
    httpserver.expect_request("/me").respond_with_json(me(identity_verification=False))
    page_one = log_page([], page=1, total_pages=50, base=intercom.url)
    httpserver.expect_request("/admins/activity_logs").respond_with_handler(slow(0.2, page_one))
    started = time.monotonic()
    with pytest.raises(intercom_api.WorkspaceUnavailable, match=r"took longer than 0.5 s \(GET /admins/activity_logs"):
        workspace.sync("production", deadline=0.5)
    assert time.monotonic() - started < 1.5
    assert "allows 120 s" in WorkspaceSnapshot.objects.get(environment__slug="production").error

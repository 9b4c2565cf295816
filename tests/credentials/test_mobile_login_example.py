"""docs/mobile-login.md: its view, exactly as printed, answers like the app's own JSON view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.http import JsonResponse
from django.test import Client, RequestFactory, override_settings

from intercom_identity import compute_user_hash
from intercom_identity.models import ClientActivity, PlatformConfig, RolloutPhase
from tests.helpers import SECRETS, TWO_WORKSPACES, configure, database_down, fenced_blocks

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def mobile_login() -> Any:
    """The documented view, compiled from the page's one Python block."""
    (source,) = fenced_blocks("mobile-login.md", "python")
    namespace: dict[str, Any] = {"__name__": "docs_mobile_login"}
    exec(compile(source, "docs/mobile-login.md", "exec"), namespace)  # noqa: S102 - the docs' own text
    return namespace["mobile_login"]


def login(
    view: Any, body: Any, *, version: str | None = "2.0.0", raw: bytes | None = None, environment: str | None = None
) -> JsonResponse:
    headers = {"X-App-Version": version} if version else {}
    if environment:
        headers["X-Intercom-Environment"] = environment
    data = raw if raw is not None else json.dumps(body)
    request = RequestFactory().post("/api/login/", data=data, content_type="application/json", headers=headers)
    response = view(request)
    assert isinstance(response, JsonResponse)
    return response


def body_of(response: JsonResponse) -> dict[str, Any]:
    return json.loads(response.content)  # type: ignore[no-any-return]


JANE = {"username": "jane", "password": "pw-jane-123"}


def test_hands_out_the_hash_and_records_the_version(mobile_login: Any, user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    response = login(mobile_login, {**JANE, "platform": "ios", "intercom": True})
    assert response.status_code == 200
    body = body_of(response)
    assert body["user_id"] == user.pk
    assert body["intercom"]["user_hash"] == compute_user_hash(SECRETS[("development", "ios")], user_id=user.pk)
    activity = ClientActivity.objects.get(user=user)
    assert (activity.version, activity.sent_credential) == ("2.0.0", True)


def test_an_old_app_gets_nothing_but_is_counted(mobile_login: Any, user: Any) -> None:
    configure("development", "android", RolloutPhase.SENDING)
    response = login(mobile_login, {**JANE, "platform": "android"}, version="1.4.2")
    assert (response.status_code, body_of(response)["intercom"]) == (200, None)
    assert ClientActivity.objects.get(user=user).version == "1.4.2"


def test_a_platform_in_capitals_is_the_app_views_400_not_a_500(mobile_login: Any, user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    response = login(mobile_login, {**JANE, "platform": "iOS", "intercom": True})
    client = Client()
    client.force_login(user)
    own = client.get("/intercom/user-hash/", {"platform": "iOS"})
    assert response.status_code == own.status_code == 400
    assert body_of(response) == own.json()
    assert body_of(response)["error"] == "unknown_platform"


@pytest.mark.parametrize(
    ("body", "raw", "status", "error"),
    [
        (None, b"{not json", 400, "invalid_json"),
        (None, b"[[[[" * 2000, 400, "invalid_json"),
        (["a list"], None, 400, "invalid_body"),
        ({"username": "jane", "password": "pw-jane-123"}, None, 400, "invalid_body"),
        ({"username": "ja\x00ne", "password": "x", "platform": "ios"}, None, 400, "invalid_body"),
        (None, b'{"username": "\\ud800", "password": "x", "platform": "ios"}', 400, "invalid_body"),
        ({"username": "jane", "password": "wrong", "platform": "ios"}, None, 401, "invalid_credentials"),
    ],
)
def test_bad_requests_are_json_4xx(
    mobile_login: Any, user: Any, body: Any, raw: bytes | None, status: int, error: str
) -> None:
    response = login(mobile_login, body, raw=raw)
    assert (response.status_code, body_of(response)["error"]) == (status, error)


def test_get_is_405(mobile_login: Any) -> None:
    response = mobile_login(RequestFactory().get("/api/login/"))
    assert (response.status_code, body_of(response)["error"], response["Allow"]) == (405, "method_not_allowed", "POST")


def test_server_side_problems_are_the_app_views_503s(mobile_login: Any, user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    ask = {**JANE, "platform": "ios", "intercom": True}
    client = Client()
    client.force_login(user)
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="nowhere"):
        response = login(mobile_login, ask)
        own = client.get("/intercom/user-hash/", {"platform": "ios"})
    assert response.status_code == own.status_code == 503
    assert (
        body_of(response)
        == own.json()
        == {
            "error": "environment_not_configured",
            "detail": "Intercom identity is not configured on this server.",
        }
    )
    PlatformConfig.objects.filter(environment__slug="development", platform="ios").update(
        encrypted_secret="not a fernet token"
    )
    response = login(mobile_login, ask)
    assert (response.status_code, body_of(response)["error"]) == (503, "secret_unavailable")
    with connection.execute_wrapper(database_down):
        response = login(mobile_login, ask)
    assert (response.status_code, body_of(response)["error"]) == (503, "database_unavailable")


@override_settings(**TWO_WORKSPACES)  # production by default; development for the header that asks
@pytest.mark.parametrize("asks", [True, False])
def test_the_request_chooses_the_workspace(mobile_login: Any, user: Any, all_secrets: Any, asks: bool) -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    response = login(mobile_login, {**JANE, "platform": "ios", "intercom": asks}, environment="development")
    assert response.status_code == 200
    if asks:
        assert body_of(response)["intercom"]["environment"] == "development"
        expected = compute_user_hash(SECRETS[("development", "ios")], user_id=user.pk)
        assert body_of(response)["intercom"]["user_hash"] == expected
    activity = ClientActivity.objects.get(user=user)
    assert (activity.environment.slug, activity.version) == ("development", "2.0.0")


@override_settings(**TWO_WORKSPACES)
@pytest.mark.parametrize("asks", [True, False])
def test_an_unserved_environment_is_the_app_views_400(
    mobile_login: Any, user: Any, all_secrets: Any, asks: bool
) -> None:
    response = login(mobile_login, {**JANE, "platform": "ios", "intercom": asks}, environment="staging")
    client = Client()
    client.force_login(user)
    own = client.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-Intercom-Environment": "staging"})
    assert response.status_code == own.status_code == 400
    assert body_of(response) == own.json()
    assert body_of(response)["error"] == "unknown_environment"
    assert not ClientActivity.objects.filter(user=user).exists()


def test_the_readme_points_to_the_page_and_the_public_helper() -> None:
    text = README.read_text("utf-8")
    section = text[text.index("## Use it") : text.index("## Documentation")]
    assert "/mobile-login.html" in section
    assert "from intercom_identity import serve_identity" in section

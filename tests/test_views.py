from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from intercom_identity import compute_user_hash
from intercom_identity.models import ClientActivity, PlatformConfig, RolloutPhase
from tests.helpers import SECRETS, TWO_WORKSPACES, AsyncBridge, configure, openssl_hmac

URL = "/intercom/user-hash/"
# The plain view and its DRF twin share one core and answer the same: every test runs against
# both, but for the few about how the plain view authenticates (marked ``plain_only``).
ENDPOINTS = {"plain": "/intercom/user-hash/", "drf": "/api/intercom/identity/"}
VERIFY_URL = "/intercom/verify/"

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.contrib.urls")]
plain_only = pytest.mark.parametrize("endpoint", ["plain"], indirect=True)


@pytest.fixture(autouse=True, params=sorted(ENDPOINTS))
def endpoint(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys.modules[__name__], "URL", ENDPOINTS[request.param])
    return str(request.param)


@pytest.fixture(params=["Client", "AsyncClient"])
def client(request: pytest.FixtureRequest, settings: Any) -> Any:
    """Each test runs through ``Client`` (the sync views, ``intercom_identity.urls``) and through
    ``AsyncClient`` (the async views, ``intercom_identity.urls_async``; the DRF twin under the ASGI
    handler): the same answers."""
    if request.param == "Client":
        return Client()
    settings.ROOT_URLCONF = "tests.contrib.urls_async"
    return AsyncBridge()


@pytest.fixture
def user_client(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def get(client: Client, **params: str) -> Any:
    return client.get(URL, params)


@plain_only
def test_url_is_named() -> None:
    assert reverse("intercom_identity:user-hash") == URL


@pytest.mark.parametrize("platform", ["ios", "android", "web"])
def test_each_platform_is_signed_with_its_own_secret(
    user_client: Client, user: Any, all_secrets: Any, platform: str
) -> None:
    response = get(user_client, platform=platform)
    assert response.status_code == 200
    expected = compute_user_hash(SECRETS[("development", platform)], user_id=str(user.pk))
    assert response.json() == {
        "platform": platform,
        "environment": "development",
        "phase": "sending",
        "user_id": str(user.pk),
        "email": "jane+beta@example.com",
        "user_hash": expected,
        "identified_by": "user_id",
        "credential": "user_hash",
        "intercom_user_jwt": None,
        "jwt_expires_at": None,
        "credential_error": None,
    }


def test_platform_hashes_differ(user_client: Client, all_secrets: Any) -> None:
    hashes = {get(user_client, platform=p).json()["user_hash"] for p in ("ios", "android", "web")}
    assert len(hashes) == 3


def test_phase_off_hands_out_no_hash_but_identity(user_client: Client, user: Any) -> None:
    configure("development", "ios")  # secret stored, phase stays off
    body = get(user_client, platform="ios").json()
    assert body["phase"] == "off"
    assert body["user_hash"] is None
    assert body["user_id"] == str(user.pk)
    assert body["identified_by"] == "user_id"


def test_enforced_phase_hands_out_hash(user_client: Client, user: Any) -> None:
    configure("development", "android", RolloutPhase.ENFORCED)
    body = get(user_client, platform="android").json()
    assert body["phase"] == "enforced"
    assert body["user_hash"] == compute_user_hash(SECRETS[("development", "android")], user_id=str(user.pk))


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production")
def test_current_environment_selects_the_production_secret(user_client: Client, user: Any, all_secrets: Any) -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    body = get(user_client, platform="ios").json()
    assert body["environment"] == "production"
    assert body["user_hash"] == compute_user_hash(SECRETS[("production", "ios")], user_id=str(user.pk))


def email_only(user: Any) -> None:
    return None


@override_settings(INTERCOM_IDENTITY_USER_ID="tests.test_views.email_only")
def test_user_without_id_is_identified_by_email(user_client: Client, all_secrets: Any) -> None:
    body = get(user_client, platform="web").json()
    assert body["user_id"] is None
    assert body["identified_by"] == "email"
    assert body["user_hash"] == compute_user_hash(SECRETS[("development", "web")], email="jane+beta@example.com")


@override_settings(INTERCOM_IDENTITY_USER_ID="tests.test_views.email_only")
def test_user_with_neither_id_nor_email_gets_no_hash(user_client: Client, user: Any, all_secrets: Any) -> None:
    user.email = ""
    user.save()
    body = get(user_client, platform="web").json()
    assert body == {**body, "user_id": None, "email": None, "user_hash": None, "identified_by": None}


def test_anonymous_gets_401_json_not_a_redirect(client: Client, all_secrets: Any) -> None:
    response = get(client, platform="ios")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert "Location" not in response


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "missing_platform"),
        ({"platform": ""}, "missing_platform"),
        ({"platform": "windows"}, "unknown_platform"),
        ({"platform": "IOS"}, "unknown_platform"),
        ({"platform": "<script>" * 50}, "unknown_platform"),
    ],
)
def test_bad_platform_is_400_json(user_client: Client, params: dict[str, str], code: str) -> None:
    response = user_client.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    assert "ios" in body["detail"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_other_methods_are_405_with_allow(user_client: Client, method: str) -> None:
    response = getattr(user_client, method)(URL + "?platform=ios")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == "method_not_allowed"


def test_head_is_allowed(user_client: Client, all_secrets: Any) -> None:
    assert user_client.head(URL + "?platform=ios").status_code == 200


def test_undecryptable_secret_is_503_json(user_client: Client, all_secrets: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=["1LT2pD6uQ7dsJ3s7W8vS4lq0cE_FJhb0Z9Xk2f2Wc5o="]):
        response = get(user_client, platform="ios")
    assert response.status_code == 503
    assert response.json()["error"] == "secret_unavailable"


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging")
def test_unknown_environment_is_503_json(user_client: Client) -> None:
    response = get(user_client, platform="ios")
    assert response.status_code == 503
    assert response.json()["error"] == "environment_not_configured"


def test_responses_are_never_cached(user_client: Client, client: Client, all_secrets: Any) -> None:
    for response in (
        get(user_client, platform="ios"),
        get(user_client),
        get(client, platform="ios"),
        user_client.post(URL),
    ):
        assert "no-store" in response["Cache-Control"]


def bearer_authenticate(request: Any) -> Any:
    """A token authenticator as a project without sessions would write it."""
    from django.contrib.auth import get_user_model

    token = request.headers.get("Authorization", "")
    if token.startswith("Bearer "):
        return get_user_model().objects.filter(username=token.removeprefix("Bearer ")).first()
    return None


@override_settings(INTERCOM_IDENTITY_AUTHENTICATE="tests.test_views.bearer_authenticate")
@plain_only  # the DRF twin authenticates with DRF's classes (tests/contrib/test_rest_framework.py)
def test_authentication_is_pluggable(client: Client, user: Any, all_secrets: Any) -> None:
    response = client.get(URL, {"platform": "ios"}, headers={"Authorization": "Bearer jane"})
    assert response.status_code == 200
    assert response.json()["user_id"] == str(user.pk)
    assert client.get(URL, {"platform": "ios"}).status_code == 401


def test_one_query_per_request(user_client: Client, all_secrets: Any, django_assert_max_num_queries: Any) -> None:
    get(user_client, platform="ios")  # warm the session
    with django_assert_max_num_queries(3):  # session, user, configuration
        get(user_client, platform="ios")


def test_missing_config_row_is_recreated_off(user_client: Client) -> None:
    PlatformConfig.objects.filter(environment__slug="development", platform="web").delete()
    body = get(user_client, platform="web").json()
    assert body["phase"] == "off"
    assert body["user_hash"] is None
    assert PlatformConfig.objects.filter(environment__slug="development", platform="web", phase="off").exists()


@pytest.mark.parametrize("keys", [["typo-key"], ["yq4Zp6L7m0f8lJ1gqS1-tX0vTn3pQ0v3mWJQ2Dk1s8A=", "typo-key"]])
def test_malformed_key_is_503_json_not_500(user_client: Client, all_secrets: Any, keys: list[str]) -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=keys):
        response = get(user_client, platform="ios")
    assert response.status_code == 503
    assert response.json()["error"] == "secret_unavailable"
    assert "typo-key" not in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "platform=%ff",
        "platform=ios%00",
        "platform=" + "a" * 100_000,
        "platform=ios&platform=web",
        "platform[]=ios",
        "%zz",
    ],
)
def test_odd_query_strings_get_4xx_or_200_json(user_client: Client, all_secrets: Any, query: str) -> None:
    response = user_client.get(URL + "?" + query)
    assert response.status_code in (200, 400)
    assert response["Content-Type"] == "application/json"


def test_other_methods_are_json_405_even_with_csrf_checks(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(URL + "?platform=ios")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


@override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=2)
def test_rate_limited_per_user_not_per_address(user_client: Client, all_secrets: Any) -> None:
    """A signed-in request counts against its user only: behind one address (a proxy, an office)
    other users are not limited with it; the user is, from any address."""
    assert [get(user_client, platform="ios").status_code for _ in range(3)] == [200, 200, 429]
    limited = get(user_client, platform="ios")
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    from django.contrib.auth import get_user_model

    other = Client()
    other.force_login(get_user_model().objects.create_user("other", "o@example.com", "pw"))
    assert get(other, platform="ios").status_code == 200  # same address, another user
    other_address = user_client.get(URL, {"platform": "ios"}, REMOTE_ADDR="10.9.9.9")
    assert other_address.status_code == 429  # same user, from another address


@override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=0)
def test_rate_limit_can_be_turned_off(user_client: Client, all_secrets: Any) -> None:
    assert {get(user_client, platform="ios").status_code for _ in range(150)} == {200}


def test_too_many_fields_is_a_400_json(user_client: Client, all_secrets: Any) -> None:
    response = user_client.get(URL + "?" + "&".join(f"f{n}=1" for n in range(1100)) + "&platform=ios")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_a_content_length_that_is_not_a_number_is_a_400_json(client: Client, all_secrets: Any) -> None:
    response = client.generic("POST", "/intercom/verify/", b"{}", content_type="application/json", CONTENT_LENGTH="abc")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_body"


def test_the_platform_may_be_the_x_intercom_platform_header(user_client: Client, user: Any, all_secrets: Any) -> None:
    response = user_client.get(URL, headers={"X-Intercom-Platform": "android"})
    assert response.json()["user_hash"] == compute_user_hash(SECRETS[("development", "android")], user_id=str(user.pk))
    assert user_client.get(URL, {"platform": "web"}, headers={"X-Intercom-Platform": "ios"}).json()["platform"] == "web"


# --- several workspaces: the environment chosen per request ----------------------------------


@pytest.fixture
def two_workspaces(all_secrets: Any) -> Iterator[None]:
    """Production is the default, development is served to the requests that ask for it; both send."""
    configure("production", "ios", RolloutPhase.SENDING)
    with override_settings(**TWO_WORKSPACES):
        yield


def test_the_header_chooses_the_workspace_whose_secret_signs(
    user_client: Client, user: Any, two_workspaces: Any
) -> None:
    debug_build = user_client.get(URL, {"platform": "ios"}, headers={"X-Intercom-Environment": "development"})
    release = user_client.get(URL, {"platform": "ios"})
    assert debug_build.status_code == release.status_code == 200
    assert debug_build.json()["environment"] == "development"
    assert debug_build.json()["user_hash"] == openssl_hmac(SECRETS[("development", "ios")], str(user.pk))
    assert release.json()["environment"] == "production"
    assert release.json()["user_hash"] == openssl_hmac(SECRETS[("production", "ios")], str(user.pk))


@pytest.mark.parametrize("asked", ["staging", "PRODUCTION", "../production", "x" * 300])
def test_an_unserved_environment_gets_400_and_no_credential(
    user_client: Client, user: Any, two_workspaces: Any, asked: str
) -> None:
    response = user_client.get(URL, {"platform": "ios"}, headers={"X-Intercom-Environment": asked})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_environment"
    assert set(body) == {"error", "detail"}
    for secret in SECRETS.values():
        assert compute_user_hash(secret, user_id=str(user.pk)) not in response.content.decode()


def test_the_default_environment_is_refused_by_a_deployment_that_does_not_serve_it(
    user_client: Client, all_secrets: Any
) -> None:
    """Only the default serves without a resolver; a resolver may not reach an unlisted environment."""
    resolver = "intercom_identity.resolvers.header_environment"
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER=resolver):
        asked = user_client.get(URL, {"platform": "ios"}, headers={"X-Intercom-Environment": "production"})
        default = user_client.get(URL, {"platform": "ios"})
    assert asked.status_code == 400
    assert default.json()["environment"] == "development"


def test_recording_lands_in_the_resolved_environment(user_client: Client, user: Any, two_workspaces: Any) -> None:
    user_client.get(
        URL, {"platform": "ios"}, headers={"X-Intercom-Environment": "development", "X-App-Version": "3.1.0"}
    )
    user_client.get(URL, {"platform": "ios"}, headers={"X-App-Version": "3.0.0"})
    seen = dict(ClientActivity.objects.filter(user=user).values_list("environment__slug", "version"))
    assert seen == {"development": "3.1.0", "production": "3.0.0"}


def test_rate_limits_are_counted_per_environment(user_client: Client, two_workspaces: Any) -> None:
    debug_build = {"X-Intercom-Environment": "development"}
    with override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=1):
        assert user_client.get(URL, {"platform": "ios"}, headers=debug_build).status_code == 200
        assert user_client.get(URL, {"platform": "ios"}, headers=debug_build).status_code == 429
        assert user_client.get(URL, {"platform": "ios"}).status_code == 200  # production's own allowance


def test_the_emulator_applies_the_production_rule_of_the_resolved_environment(
    client: Client, user: Any, two_workspaces: Any
) -> None:
    body = {"platform": "ios", "user_id": str(user.pk)}
    body["user_hash"] = compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
    production = client.post(VERIFY_URL, body, content_type="application/json")
    development = client.post(
        VERIFY_URL, body, content_type="application/json", headers={"X-Intercom-Environment": "development"}
    )
    unserved = client.post(
        VERIFY_URL, body, content_type="application/json", headers={"X-Intercom-Environment": "staging"}
    )
    assert production.status_code == 404  # the default here is production, where the emulator is off
    assert development.status_code == 200, development.content
    assert unserved.status_code == 400
    assert unserved.json()["error"] == "unknown_environment"

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from intercom_identity import compute_user_hash
from intercom_identity.models import PlatformConfig, RolloutPhase
from tests.helpers import SECRETS, AsyncBridge, configure

URL = "/intercom/user-hash/"
VERIFY_URL = "/intercom/verify/"

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["Client", "AsyncClient"])
def client(request: pytest.FixtureRequest, settings: Any) -> Any:
    """Each test runs through ``Client`` (the sync views, ``intercom_identity.urls``) and through
    ``AsyncClient`` (the async views, ``intercom_identity.urls_async``): the same answers."""
    if request.param == "Client":
        return Client()
    settings.ROOT_URLCONF = "tests.urls_async"
    return AsyncBridge()


@pytest.fixture
def user_client(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def get(client: Client, **params: str) -> Any:
    return client.get(URL, params)


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
def test_rate_limited_per_user_and_per_address(user_client: Client, all_secrets: Any) -> None:
    assert [get(user_client, platform="ios").status_code for _ in range(3)] == [200, 200, 429]
    limited = get(user_client, platform="ios")
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    from django.contrib.auth import get_user_model

    other = Client()
    other.force_login(get_user_model().objects.create_user("other", "o@example.com", "pw"))
    assert get(other, platform="ios").status_code == 429  # same address
    other_address = user_client.get(URL, {"platform": "ios"}, REMOTE_ADDR="10.9.9.9")
    assert other_address.status_code == 429  # same user, from another address
    assert other.get(URL, {"platform": "ios"}, REMOTE_ADDR="10.1.2.3").status_code == 200  # another address, user


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

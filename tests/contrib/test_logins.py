"""Each login library's own login URL, with and without a platform: its usual response plus
``intercom`` (the JSON view's payload, or its error body), the user recorded on ``X-App-Version``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity import UnservedEnvironment
from intercom_identity.models import ClientActivity, RolloutPhase
from intercom_identity.views import NOT_AUTHENTICATED
from tests.helpers import SECRETS, TWO_WORKSPACES, configure, jwt_config, openssl_hmac

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.contrib.urls")]

PASSWORD = "pw-jane-123"  # the conftest user's
APP = {"X-Intercom-Platform": "ios", "X-App-Version": "2.0.0"}


@dataclass(frozen=True)
class Login:
    """How one library logs in: its request, and where its response keeps ``intercom``."""

    post: Callable[[Client, Any, dict[str, str]], Any]
    intercom: Callable[[dict[str, Any]], Any] = lambda body: body.get("intercom")
    usual: Callable[[dict[str, Any]], set[str]] = lambda body: set(body) - {"intercom"}


def credentials(url: str) -> Callable[[Client, Any, dict[str, str]], Any]:
    def post(client: Client, user: Any, headers: dict[str, str]) -> Any:
        body = {"username": user.get_username(), "password": PASSWORD}
        return client.post(url, body, content_type="application/json", headers=headers)

    return post


def simplejwt_refresh(client: Client, user: Any, headers: dict[str, str]) -> Any:
    refresh = credentials("/api/token/")(client, user, {}).json()["refresh"]
    return client.post("/api/token/refresh/", {"refresh": refresh}, content_type="application/json", headers=headers)


def knox(client: Client, user: Any, headers: dict[str, str]) -> Any:
    basic = base64.b64encode(f"{user.get_username()}:{PASSWORD}".encode()).decode()
    return client.post("/api/knox/login/", headers={"Authorization": f"Basic {basic}", **headers})


def allauth_meta(body: dict[str, Any]) -> Any:
    return body["meta"].get("intercom")


LOGINS = {
    "simplejwt": Login(credentials("/api/token/")),
    "simplejwt-refresh": Login(simplejwt_refresh),
    "dj_rest_auth-token": Login(credentials("/dj-rest-auth/login/")),
    "dj_rest_auth-jwt": Login(credentials("/dj-rest-auth/login/")),
    "djoser": Login(credentials("/auth/token/login/")),
    "knox": Login(knox),
    "allauth": Login(
        credentials("/_allauth/app/v1/auth/login"),
        intercom=allauth_meta,
        usual=lambda body: {*body, *(f"meta.{key}" for key in body["meta"] if key != "intercom")},
    ),
}
USUAL_KEYS = {
    "simplejwt": {"access", "refresh"},
    "simplejwt-refresh": {"access"},
    "dj_rest_auth-token": {"key"},
    "dj_rest_auth-jwt": {"access", "refresh", "user"},
    "djoser": {"auth_token"},
    "knox": {"expiry", "token"},
    "allauth": {"status", "data", "meta", "meta.is_authenticated", "meta.session_token"},
}


@pytest.fixture(params=sorted(LOGINS))
def library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "dj_rest_auth-jwt":  # dj-rest-auth reads REST_AUTH once, at import
        from dj_rest_auth.app_settings import api_settings

        monkeypatch.setattr(api_settings, "USE_JWT", True)
    return str(request.param)


def login(library: str, client: Client, user: Any, headers: dict[str, str]) -> tuple[dict[str, Any], Any]:
    response = LOGINS[library].post(client, user, headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert LOGINS[library].usual(body) == USUAL_KEYS[library]
    return body, LOGINS[library].intercom(body)


def test_a_login_naming_a_hash_platform_carries_the_user_hash(library: str, user: Any, all_secrets: Any) -> None:
    _, intercom = login(library, Client(), user, APP)
    assert intercom["platform"] == "ios"
    assert intercom["user_hash"] == openssl_hmac(SECRETS[("development", "ios")], str(user.pk))
    activity = ClientActivity.objects.get(user=user, platform="ios")
    assert (activity.version, activity.sent_credential) == ("2.0.0", True)


def test_a_login_naming_a_jwt_platform_carries_a_verifiable_jwt(library: str, user: Any) -> None:
    jwt_config("android")
    _, intercom = login(library, Client(), user, {**APP, "X-Intercom-Platform": "android"})
    claims = jwt.decode(intercom["intercom_user_jwt"], SECRETS[("development", "android")], algorithms=["HS256"])
    assert claims["user_id"] == str(user.pk)
    assert claims["exp"] == intercom["jwt_expires_at"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(intercom["intercom_user_jwt"], SECRETS[("development", "ios")], algorithms=["HS256"])
    assert ClientActivity.objects.get(user=user, platform="android").version == "2.0.0"


def test_a_login_without_a_platform_is_unchanged(library: str, user: Any, all_secrets: Any) -> None:
    body, intercom = login(library, Client(), user, {"X-App-Version": "2.0.0"})
    assert intercom is None
    assert "intercom" not in body
    assert not ClientActivity.objects.exists()


def test_the_platform_may_be_a_query_parameter(user: Any, all_secrets: Any) -> None:
    client = Client()
    response = client.post(
        "/api/token/?platform=web",
        {"username": "jane", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.json()["intercom"]["user_hash"] == openssl_hmac(SECRETS[("development", "web")], str(user.pk))


def test_an_unknown_platform_leaves_the_login_successful(library: str, user: Any, all_secrets: Any) -> None:
    _, intercom = login(library, Client(), user, {**APP, "X-Intercom-Platform": "windows-phone"})
    assert intercom["error"] == "unknown_platform"
    assert set(intercom) == {"error", "detail"}


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=["Ff6cZyPzJ5Yq2JxgWq3fYl6m8XHcM3QhO3m3sC9o1Fs="])
def test_an_unreadable_secret_leaves_the_login_successful(library: str, user: Any, all_secrets: Any) -> None:
    _, intercom = login(library, Client(), user, APP)
    assert intercom == {
        "error": "secret_unavailable",
        "detail": "Intercom identity is temporarily unavailable on this server.",
    }


def test_an_environment_that_is_not_configured_leaves_the_login_successful(user: Any, all_secrets: Any) -> None:
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging"):
        _, intercom = login("simplejwt", Client(), user, APP)
    assert intercom["error"] == "environment_not_configured"


@pytest.mark.parametrize("environment", ["development", None])
def test_a_login_carries_the_credential_of_the_requests_environment(
    library: str, user: Any, all_secrets: Any, environment: str | None
) -> None:
    """Production by default, development for the header that asks (a debug build): its secret,
    its recording."""
    configure("production", "ios", RolloutPhase.SENDING)
    headers = {**APP, "X-Intercom-Environment": environment} if environment else APP
    with override_settings(**TWO_WORKSPACES):
        _, intercom = login(library, Client(), user, headers)
    served = environment or "production"
    assert intercom["environment"] == served
    assert intercom["user_hash"] == openssl_hmac(SECRETS[(served, "ios")], str(user.pk))
    assert set(ClientActivity.objects.filter(user=user).values_list("environment__slug", flat=True)) == {served}


def test_an_unserved_environment_leaves_the_login_successful(library: str, user: Any, all_secrets: Any) -> None:
    """The JSON view's 400 body under ``intercom``, no credential of any environment, nothing recorded."""
    with override_settings(**TWO_WORKSPACES):
        _, intercom = login(library, Client(), user, {**APP, "X-Intercom-Environment": "staging"})
    assert intercom == {"error": "unknown_environment", "detail": str(UnservedEnvironment("staging"))}
    assert not ClientActivity.objects.exists()


def test_a_wrong_password_is_still_the_library_s_own_answer(user: Any, all_secrets: Any) -> None:
    response = Client().post(
        "/api/token/", {"username": "jane", "password": "nope"}, content_type="application/json", headers=APP
    )
    assert response.status_code == 401
    assert "intercom" not in response.json()
    assert not ClientActivity.objects.exists()


def test_a_refresh_hands_out_a_fresh_intercom_jwt(user: Any) -> None:
    jwt_config("ios")
    client = Client()
    first = credentials("/api/token/")(client, user, APP).json()
    refreshed = client.post(
        "/api/token/refresh/", {"refresh": first["refresh"]}, content_type="application/json", headers=APP
    ).json()
    token = refreshed["intercom"]["intercom_user_jwt"]
    assert jwt.decode(token, SECRETS[("development", "ios")], algorithms=["HS256"])["user_id"] == str(user.pk)
    assert refreshed["intercom"]["jwt_expires_at"] >= first["intercom"]["jwt_expires_at"]


# --- SimpleJWT's refresh: the token's user --------------------------------------------------------


def user_lookups(queries: CaptureQueriesContext) -> int:
    """The loads of a whole user row (the recording's own checks read only the key)."""
    return sum('"auth_user"."password"' in query["sql"] for query in queries.captured_queries)


def test_a_refresh_looks_the_user_up_once_more_than_simplejwt_at_most(user: Any, all_secrets: Any) -> None:
    """SimpleJWT checks the token's user but keeps it to itself: one lookup of ours, none without a platform."""
    client = Client()
    refresh = credentials("/api/token/")(client, user, {}).json()["refresh"]
    counted = {}
    for name, headers in (("plain", {}), ("intercom", APP)):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                "/api/token/refresh/", {"refresh": refresh}, content_type="application/json", headers=headers
            )
        assert response.status_code == 200
        counted[name] = user_lookups(queries)
    assert response.json()["intercom"]["user_hash"] == openssl_hmac(SECRETS[("development", "ios")], str(user.pk))
    assert counted["intercom"] == counted["plain"] + 1


def refresh_of(user: Any) -> Callable[[dict[str, str]], Any]:
    client = Client()
    refresh = credentials("/api/token/")(client, user, {}).json()["refresh"]
    return lambda headers: client.post(
        "/api/token/refresh/", {"refresh": refresh}, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize("headers", [APP, {}])
def test_a_deleted_users_refresh_is_simplejwts_401_not_a_500(
    user: Any, all_secrets: Any, headers: dict[str, str]
) -> None:
    """Answered as SimpleJWT answers a user who may no longer sign in (an inactive one)."""
    refresh = refresh_of(user)
    user.is_active = False
    user.save()
    inactive = refresh(headers)
    user.delete()
    deleted = refresh(headers)
    assert deleted.status_code == inactive.status_code == 401
    assert deleted.json() == inactive.json() == {"detail": "No active account found for the given token."}


def test_a_user_gone_after_simplejwts_check_is_the_json_views_401_under_intercom(
    user: Any, all_secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SimpleJWT before 5.4 checks no user: the refresh succeeds, and ``intercom`` says why it has no credential."""
    from rest_framework_simplejwt.settings import api_settings

    refresh = refresh_of(user)

    def deleted_once_checked(checked: Any) -> bool:
        checked.delete()
        return True

    monkeypatch.setattr(api_settings, "USER_AUTHENTICATION_RULE", deleted_once_checked)
    response = refresh(APP)
    assert response.status_code == 200
    assert response.json()["intercom"] == {"error": "not_authenticated", "detail": NOT_AUTHENTICATED}


def test_the_database_down_for_the_users_lookup_leaves_the_refresh_successful(user: Any, all_secrets: Any) -> None:
    refresh = refresh_of(user)
    lookups = iter(range(100))

    def down_after_simplejwts_lookup(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if 'FROM "auth_user"' in sql and next(lookups) >= 1:  # SimpleJWT's check (5.4+) is the first
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(down_after_simplejwts_lookup):
        response = refresh(APP)
    assert response.status_code == 200
    assert response.json()["intercom"]["error"] == "database_unavailable"

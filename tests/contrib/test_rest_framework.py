"""``IntercomIdentityView`` authenticated by DRF's classes, as the endpoint of the mobile SDKs'
``setUserJwtProvider``. (tests/test_views.py runs the plain view's tests against it too.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from intercom_identity.models import ClientActivity
from tests.helpers import SECRETS, jwt_config

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.contrib.urls")]

URL = "/api/intercom/identity/"
APP = {"X-Intercom-Platform": "ios", "X-App-Version": "2.0.0"}
WRITES = ("INSERT", "UPDATE", "DELETE")


def bearer(client: Client, user: Any) -> dict[str, str]:
    """The headers of an app signed in through SimpleJWT."""
    login = client.post(
        "/api/token/", {"username": user.get_username(), "password": "pw-jane-123"}, content_type="application/json"
    )
    return {"Authorization": f"Bearer {login.json()['access']}"}


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_the_provider_call_answers_a_fresh_jwt_to_a_token_signed_in_user(user: Any) -> None:
    jwt_config("ios")
    client = Client()
    response = client.get(URL, headers={**bearer(client, user), **APP})
    assert response.status_code == 200
    body = response.json()
    claims = jwt.decode(body["intercom_user_jwt"], SECRETS[("development", "ios")], algorithms=["HS256"])
    assert claims["user_id"] == str(user.pk)
    assert body["jwt_expires_at"] == claims["exp"] > timezone.now().timestamp()
    assert "no-store" in response["Cache-Control"]
    assert ClientActivity.objects.get(user=user).version == "2.0.0"


def test_the_warm_provider_call_writes_nothing_and_records_once_an_hour(
    user: Any, monkeypatch: pytest.MonkeyPatch, committed: Any
) -> None:
    jwt_config("ios")
    client = Client()
    headers = {**bearer(client, user), **APP}
    # Each request as if it committed (the memory of the write is kept on commit).
    assert committed(client.get, URL, headers=headers).status_code == 200  # the first call of the hour records
    first_seen = ClientActivity.objects.get(user=user).last_seen_at
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            body = committed(client.get, URL, headers=headers).json()
            assert body["intercom_user_jwt"]
    assert writes(queries) == []
    assert ClientActivity.objects.get(user=user).last_seen_at == first_seen

    later = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr("intercom_identity.rollout.activity.timezone.now", lambda: later)
    with CaptureQueriesContext(connection) as queries:
        committed(client.get, URL, headers=headers)
    assert writes(queries)  # the next hour records again
    assert ClientActivity.objects.get(user=user).last_seen_at == later


def test_a_bad_token_is_the_plain_view_s_401(user: Any, all_secrets: Any) -> None:
    response = Client().get(URL, headers={"Authorization": "Bearer not-a-token", **APP})
    assert response.status_code == 401
    assert response.json() == {"error": "not_authenticated", "detail": "Sign in to get an Intercom identity."}
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "no-store" in response["Cache-Control"]


def test_any_accept_header_gets_json(user: Any, all_secrets: Any) -> None:
    client = Client()
    response = client.get(URL, headers={**bearer(client, user), **APP, "Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_options_is_the_plain_view_s_405(user: Any) -> None:
    response = Client().options(URL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == "method_not_allowed"


def test_the_project_s_authentication_classes_can_be_replaced(user: Any, all_secrets: Any) -> None:
    """``as_view(authentication_classes=...)`` as for any APIView: a session-only endpoint ignores tokens."""
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.test import APIRequestFactory, force_authenticate

    from intercom_identity.contrib.rest_framework import IntercomIdentityView

    view = IntercomIdentityView.as_view(authentication_classes=[SessionAuthentication])
    request = APIRequestFactory().get(URL, {"platform": "ios"})
    force_authenticate(request, user)
    assert view(request).status_code == 200
    assert view(APIRequestFactory().get(URL, {"platform": "ios"})).status_code == 401

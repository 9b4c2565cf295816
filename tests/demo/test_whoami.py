"""The demo's bare authenticated JSON view, the baseline of the load benchmark (bench/web.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

WHOAMI = "/api/whoami/"


@pytest.mark.django_db
def test_whoami_names_the_signed_in_user(user_client: Client, user: Any) -> None:
    response = user_client.get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {"user_id": user.pk}
    assert "no-cache" in response["Cache-Control"]  # per-user, like the app's JSON view


@pytest.mark.django_db
def test_whoami_is_401_json_for_a_visitor(client: Client) -> None:
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.django_db
def test_whoami_reads_the_same_session_as_the_app_view(user_client: Client, user: Any, all_secrets: Any) -> None:
    """The baseline authenticates exactly like the JSON view it is compared with."""
    assert user_client.get(WHOAMI).json()["user_id"] == user.pk
    assert user_client.get("/intercom/user-hash/", {"platform": "ios"}).json()["user_id"] == str(user.pk)


@pytest.mark.django_db
def test_whoami_is_get_only(user_client: Client) -> None:
    response = user_client.post(WHOAMI)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.django_db
def test_the_async_whoami_answers_as_the_sync_one(user: Any, settings: Any) -> None:
    from tests.helpers import AsyncBridge

    settings.ROOT_URLCONF = "project.urls_asgi"
    browser = AsyncBridge()
    assert browser.get(WHOAMI).status_code == 401
    browser.force_login(user)
    response = browser.get(WHOAMI)
    assert response.json() == {"user_id": user.pk}
    assert "no-cache" in response["Cache-Control"]
    assert browser.post(WHOAMI).status_code == 405

"""The app's endpoints answer JSON at both spellings of their URL, with and without the trailing
slash: Django's APPEND_SLASH cannot redirect a POST (a 500 under DEBUG), and a redirect of a GET
is an empty HTML answer to a JSON client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from intercom_identity.credentials.hashing import sign
from intercom_identity.models import RolloutPhase
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def sending(db: None) -> None:
    configure("development", "ios", RolloutPhase.SENDING)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/intercom/verify", "/intercom/verify/"])
def test_verify_answers_json_at_both_spellings(sending: None, settings: Any, debug: bool, path: str) -> None:
    settings.DEBUG = debug
    settings.APPEND_SLASH = True
    client = Client(raise_request_exception=False)
    body = {"platform": "ios", "user_id": "42", "user_hash": sign(SECRETS[("development", "ios")], "42")}
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"verified": True, "identified_by": "user_id"}


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/intercom/verify", "/intercom/verify/"])
def test_verify_other_methods_get_the_json_405(sending: None, settings: Any, debug: bool, path: str) -> None:
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).put(path, "{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/intercom/user-hash", "/intercom/user-hash/"])
def test_user_hash_answers_json_at_both_spellings(
    sending: None, user_client: Client, user: Any, settings: Any, debug: bool, path: str
) -> None:
    settings.DEBUG = debug
    settings.APPEND_SLASH = True
    response = user_client.get(path, {"platform": "ios"})
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    assert response["Content-Type"] == "application/json"
    assert response.json()["user_hash"] == sign(SECRETS[("development", "ios")], str(user.pk))


@pytest.mark.parametrize("path", ["/intercom/user-hash", "/intercom/user-hash/"])
def test_user_hash_post_is_the_json_405_at_both_spellings(sending: None, settings: Any, path: str) -> None:
    settings.DEBUG = True
    response = Client(raise_request_exception=False).post(path, "{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"

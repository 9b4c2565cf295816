"""The demo's ``POST /api/login/`` answers text it cannot use (a lone surrogate, which JSON's
``"\\ud800"`` escape carries) with a 400 JSON error, never a 500 page, with DEBUG off or on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from intercom_identity import compute_user_hash
from intercom_identity.models import RolloutPhase
from tests.helpers import SECRETS, TWO_WORKSPACES, configure

pytestmark = pytest.mark.django_db

URL = "/api/login/"
GOOD = {"username": "jane", "password": "pw-jane-123", "platform": "ios"}


def raw_body(**fields: Any) -> str:
    """The JSON text of the body; json.dumps writes a lone surrogate as the escape ``\\ud800``."""
    return json.dumps({**GOOD, **fields})


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "fields",
    [
        {"username": "\ud800"},
        {"username": "ja\udfffne"},
        {"password": "\ud800"},
        {"password": "pw-jane-123\udc80"},
        {"platform": "\ud83d"},
        {"platform": "\ud83d", "intercom": True},
    ],
    ids=["username", "username-low", "password", "password-tail", "platform", "platform-with-intercom"],
)
def test_lone_surrogates_are_a_400_json_error(user: Any, settings: Any, debug: bool, fields: dict[str, Any]) -> None:
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    response = client.post(URL, raw_body(**fields), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "invalid_body"
    assert "UTF-8" in body["detail"]


def test_valid_login_still_works(user: Any) -> None:
    response = Client().post(URL, raw_body(), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "jane"


def test_a_debug_build_logs_in_to_the_test_workspace(user: Any, all_secrets: Any) -> None:
    """The debug-build recipe (docs/workspaces.md) through the demo's login API."""
    configure("production", "ios", RolloutPhase.SENDING)
    body = raw_body(intercom=True)
    with override_settings(**TWO_WORKSPACES):
        debug = Client().post(URL, body, content_type="application/json", headers={"X-Intercom-Environment": "dev"})
        release = Client().post(URL, body, content_type="application/json")
        testing = Client().post(
            URL, body, content_type="application/json", headers={"X-Intercom-Environment": "development"}
        )
    assert debug.status_code == 400
    assert debug.json()["error"] == "unknown_environment"
    assert release.json()["intercom"]["user_hash"] == compute_user_hash(
        SECRETS[("production", "ios")], user_id=str(user.pk)
    )
    assert testing.json()["intercom"]["user_hash"] == compute_user_hash(
        SECRETS[("development", "ios")], user_id=str(user.pk)
    )

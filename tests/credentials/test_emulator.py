"""The emulator answers a JWT failure under enforcement as Intercom documents (400, Intercom's
error list), keeps 401/403 for user hashes, and refuses a token whose ``nbf`` lies in the future."""

from __future__ import annotations

import io
import sys
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from intercom_identity.credentials.hashing import sign
from intercom_identity.credentials.verification import CLOCK_LEEWAY, REASONS
from intercom_identity.models import RolloutPhase
from intercom_identity.rollout.changes import change_phase
from intercom_identity.selectors import get_platform_config
from tests import jwt_independent
from tests.helpers import SECRETS, AsyncBridge, configure

pytestmark = pytest.mark.django_db

URL = "/intercom/verify/"


@pytest.fixture(autouse=True, params=["Client", "AsyncClient"])
def through(request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs through ``Client`` (the sync view) and ``AsyncClient`` (``urls_async``)."""
    if request.param == "AsyncClient":
        settings.ROOT_URLCONF = "tests.urls_async"
        monkeypatch.setattr(sys.modules[__name__], "Client", AsyncBridge)


@pytest.fixture
def sending(db: None) -> None:
    for platform in ("ios", "android", "web"):
        configure("development", platform, RolloutPhase.SENDING)


def enforce(platform: str) -> None:
    change_phase(get_platform_config(platform, "development"), RolloutPhase.ENFORCED, force=True, reason="test")


def token(platform: str, **claims: Any) -> str:
    return jwt_independent.make({"user_id": "42", **claims}, SECRETS[("development", platform)])


def post(platform: str, **fields: Any) -> Any:
    return Client().post(URL, {"platform": platform, **fields}, content_type="application/json")


@pytest.mark.parametrize("platform", ["ios", "android", "web"])
def test_enforced_jwt_failure_is_intercoms_400(sending: None, platform: str) -> None:
    enforce(platform)
    response = post(platform, intercom_user_jwt=token(platform, exp=int(time.time()) - 60))
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error.list"
    assert [error["code"] for error in body["errors"]] == ["jwt_invalid"]
    assert body["errors"][0]["message"]
    assert body["diagnosis"]["reason"] == "jwt_expired"


@pytest.mark.parametrize(("platform", "status"), [("ios", 401), ("android", 401), ("web", 403)])
def test_enforced_hash_failure_keeps_its_status(sending: None, platform: str, status: int) -> None:
    enforce(platform)
    response = post(platform, user_id="42", user_hash=sign("not-the-secret", "42"))
    assert response.status_code == status
    body = response.json()
    assert body["code"] == "hmac_mismatch"
    assert body["message"] == "Failed Identity Verification check"


@pytest.mark.parametrize("enforced", [False, True])
def test_nbf_in_the_future_is_not_yet_valid(sending: None, enforced: bool) -> None:
    if enforced:
        enforce("ios")
    response = post("ios", intercom_user_jwt=token("ios", nbf=int(time.time()) + 600))
    body = response.json()
    assert body["diagnosis"]["reason"] == "jwt_not_yet_valid"
    assert "600" in body["diagnosis"]["detail"] or "seconds" in body["diagnosis"]["detail"]
    assert response.status_code == (400 if enforced else 200)
    assert "jwt_not_yet_valid" in REASONS


def test_nbf_within_the_leeway_is_accepted(sending: None) -> None:
    assert CLOCK_LEEWAY > 0
    response = post("ios", intercom_user_jwt=token("ios", nbf=int(time.time()) + CLOCK_LEEWAY // 2))
    assert response.json() == {"verified": True, "identified_by": "user_id"}


def test_exp_within_the_same_leeway_is_accepted(sending: None) -> None:
    response = post("ios", intercom_user_jwt=token("ios", exp=int(time.time()) - CLOCK_LEEWAY // 2))
    assert response.json() == {"verified": True, "identified_by": "user_id"}


def test_past_nbf_is_fine_and_a_non_numeric_nbf_is_malformed(sending: None) -> None:
    assert post("ios", intercom_user_jwt=token("ios", nbf=int(time.time()) - 60)).json()["verified"] is True
    body = post("ios", intercom_user_jwt=token("ios", nbf="tomorrow")).json()
    assert body["diagnosis"]["reason"] == "jwt_malformed"


def test_the_command_reports_a_token_not_yet_valid(sending: None) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "intercom_identity",
            "verify",
            "development",
            "ios",
            "--jwt",
            token("ios", nbf=int(time.time()) + 600),
            stdout=out,
            stderr=io.StringIO(),
        )
    assert out.getvalue().startswith("jwt_not_yet_valid: ")

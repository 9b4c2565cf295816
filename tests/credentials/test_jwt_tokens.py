"""Credential mode ``jwt``: tokens in the payload, the web settings, the command and the admin."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse

from intercom_identity import identity_payload
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from tests import jwt_independent
from tests.helpers import SECRETS, configure, jwt_config, render, settings_of

pytestmark = pytest.mark.django_db

URL = "/intercom/user-hash/"


def test_payload_carries_a_token_instead_of_the_hash(user: Any) -> None:
    jwt_config("ios")
    before = int(time.time())
    payload = identity_payload(user, "ios")
    assert payload["credential"] == "jwt"
    assert payload["user_hash"] is None
    assert payload["credential_error"] is None
    header, claims = jwt_independent.decode(payload["intercom_user_jwt"], SECRETS[("development", "ios")])
    assert header["alg"] == "HS256"
    assert claims["user_id"] == str(user.pk)
    assert claims["email"] == user.email
    assert before + 3600 <= claims["exp"] <= int(time.time()) + 3600
    assert payload["jwt_expires_at"] == claims["exp"]


def test_token_is_signed_with_that_platforms_secret(user: Any) -> None:
    jwt_config("android")
    token = identity_payload(user, "android")["intercom_user_jwt"]
    jwt_independent.decode(token, SECRETS[("development", "android")])
    with pytest.raises(AssertionError):
        jwt_independent.decode(token, SECRETS[("development", "ios")])


@override_settings(
    INTERCOM_IDENTITY_JWT_EXPIRY=60, INTERCOM_IDENTITY_JWT_SIGNED_FIELDS=["email", "username", "get_full_name"]
)
def test_expiry_and_signed_fields_are_settings(user: Any) -> None:
    user.first_name, user.last_name = "Jane", "Doe"
    user.save()
    jwt_config("ios")
    payload = identity_payload(user, "ios")
    _header, claims = jwt_independent.decode(payload["intercom_user_jwt"], SECRETS[("development", "ios")])
    assert claims["exp"] - time.time() <= 60
    assert claims["username"] == "jane"
    assert claims["get_full_name"] == "Jane Doe"


@override_settings(INTERCOM_IDENTITY_JWT_SIGNED_FIELDS=[])
def test_no_signed_fields_means_user_id_and_exp_only(user: Any) -> None:
    jwt_config("ios")
    _header, claims = jwt_independent.decode(
        identity_payload(user, "ios")["intercom_user_jwt"], SECRETS[("development", "ios")]
    )
    assert set(claims) == {"user_id", "exp"}


@override_settings(INTERCOM_IDENTITY_USER_ID="tests.helpers.no_user_id")
def test_user_without_user_id_gets_no_token_and_a_reason(user: Any) -> None:
    jwt_config("ios")
    payload = identity_payload(user, "ios")
    assert payload["intercom_user_jwt"] is None
    assert payload["user_hash"] is None
    assert payload["credential_error"] is not None
    assert payload["credential_error"]["reason"] == "jwt_requires_user_id"


def test_phase_off_hands_out_no_token(user: Any) -> None:
    jwt_config("ios", RolloutPhase.OFF)
    payload = identity_payload(user, "ios")
    assert payload["credential"] == "jwt"
    assert payload["intercom_user_jwt"] is None
    assert payload["jwt_expires_at"] is None


def test_json_view_is_the_refresh_endpoint(user_client: Client, user: Any) -> None:
    jwt_config("ios")
    first = user_client.get(URL, {"platform": "ios"}).json()
    with override_settings(INTERCOM_IDENTITY_JWT_EXPIRY=7200):
        second = user_client.get(URL, {"platform": "ios"}).json()
    assert second["jwt_expires_at"] > first["jwt_expires_at"]
    _h, claims = jwt_independent.decode(second["intercom_user_jwt"], SECRETS[("development", "ios")])
    assert claims["user_id"] == str(user.pk)


def test_web_settings_keep_signed_fields_inside_the_token(user: Any) -> None:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    jwt_config("web")
    got = settings_of(render(user, "{% intercom_settings email='clear@example.com' name='Jane' %}"))
    assert set(got) == {"app_id", "intercom_user_jwt", "name"}
    _h, claims = jwt_independent.decode(got["intercom_user_jwt"], SECRETS[("development", "web")])
    assert claims["email"] == user.email


# --- command and admin ----------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("intercom_identity", *args, stdout=out)
    return out.getvalue()


def test_mode_command() -> None:
    configure("development", "web")
    assert "user_hash -> jwt" in run("mode", "development", "web", "jwt")
    assert PlatformConfig.objects.get(environment__slug="development", platform="web").credential_mode == "jwt"
    assert "already" in run("mode", "development", "web", "jwt")
    with pytest.raises(CommandError):
        run("mode", "development", "web", "saml")


def test_admin_switches_mode_with_confirmation_and_history(admin_client: Client) -> None:
    config = configure("development", "android", RolloutPhase.SENDING)
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])
    change_page = admin_client.get(reverse("admin:intercom_identity_platformconfig_change", args=[config.pk]))
    assert "credential_mode%3Ajwt" in change_page.content.decode()
    confirm = admin_client.get(url, {"to": "credential_mode:jwt"})
    assert b"intercom_user_jwt" in confirm.content
    admin_client.post(url, {"transition": "credential_mode:jwt", "confirm": "yes"})
    config.refresh_from_db()
    assert config.credential_mode == "jwt"
    assert LogEntry.objects.filter(
        object_id=str(config.pk), change_message="Credential mode: User hash (HMAC) → JWT (Messenger Security)."
    ).exists()


def test_admin_mode_action(admin_client: Client) -> None:
    ios = configure("development", "ios")
    web = configure("development", "web")
    admin_client.post(
        "/admin/intercom_identity/platformconfig/",
        {"action": "use_jwt", "_selected_action": [ios.pk, web.pk], "confirm": "yes"},
    )
    assert set(PlatformConfig.objects.filter(pk__in=[ios.pk, web.pk]).values_list("credential_mode", flat=True)) == {
        "jwt"
    }


@override_settings(INTERCOM_IDENTITY_JWT_SIGNED_FIELDS=["email", "date_joined", "groups"])
def test_signed_fields_are_made_json(user: Any) -> None:
    jwt_config("ios")
    payload = identity_payload(user, "ios")
    _h, claims = jwt_independent.decode(payload["intercom_user_jwt"], SECRETS[("development", "ios")])
    assert claims["date_joined"] == int(user.date_joined.timestamp())
    assert "groups" not in claims  # a related manager is no JSON value: left out and logged


class PlanUnavailable(Exception):
    pass


def raising_method(self: Any) -> str:
    raise PlanUnavailable("the billing service is down")


@pytest.mark.parametrize("kind", ["method", "property"])
@override_settings(INTERCOM_IDENTITY_JWT_SIGNED_FIELDS=["email", "plan"])
def test_a_signed_field_that_raises_is_left_out_and_logged_once(
    user: Any, caplog: Any, monkeypatch: Any, kind: str
) -> None:
    """A method (or property) named in the signed fields that raises used to break the JWT page."""
    monkeypatch.setattr(
        type(user), "plan", raising_method if kind == "method" else property(raising_method), raising=False
    )
    jwt_config("web")
    Environment.objects.filter(slug="development").update(app_id="abc123")
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            settings = settings_of(render(user))
            _h, claims = jwt_independent.decode(settings["intercom_user_jwt"], SECRETS[("development", "web")])
            assert "plan" not in claims
            assert claims["email"] == user.email
    errors = [record for record in caplog.records if "plan" in record.getMessage()]
    assert len(errors) == 1
    assert "reading it raised PlanUnavailable" in errors[0].getMessage()

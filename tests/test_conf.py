"""Secrets supplied by settings (INTERCOM_IDENTITY_SECRETS) instead of the database."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse

from intercom_identity import compute_user_hash, identity_payload
from intercom_identity.checks import check_phases_have_secrets, check_settings
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import PlatformConfig, RolloutPhase
from intercom_identity.rollout.changes import change_phase
from intercom_identity.selectors import get_platform_config
from tests import leakguard
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db

VAULT = "vault-prod-ios-0f0e0d0c0b0a09080706050403020100"
leakguard.remember_secret(VAULT)  # supplied by settings: the leak guard must watch for it too
FROM_SETTINGS = {"production": {"ios": VAULT}}


def test_settings_secret_wins_over_the_stored_one(user: Any) -> None:
    configure("production", "ios")  # a stored secret, then overridden by settings
    with override_settings(INTERCOM_IDENTITY_SECRETS=FROM_SETTINGS):
        check_the_settings_secret_is_used(user)


def check_the_settings_secret_is_used(user: Any) -> None:
    config = get_platform_config("ios", "production")
    change_phase(config, RolloutPhase.SENDING)
    payload = identity_payload(user, "ios", environment="production")
    assert payload["user_hash"] == compute_user_hash(VAULT, user_id=str(user.pk))
    assert config.fingerprint == fingerprint(VAULT)


@override_settings(INTERCOM_IDENTITY_SECRETS=FROM_SETTINGS)
def test_a_settings_secret_allows_phases_without_a_stored_one(user: Any) -> None:
    config = get_platform_config("ios", "production")
    assert not config.encrypted_secret
    change_phase(config, RolloutPhase.SENDING)
    assert identity_payload(user, "ios", environment="production")["user_hash"]


@override_settings(INTERCOM_IDENTITY_SECRETS=FROM_SETTINGS)
def test_set_secret_is_refused_for_a_managed_pair() -> None:
    with pytest.raises(CommandError, match="managed by settings"):
        call_command(
            "intercom_identity", "set-secret", "production", "ios", stdin=io.StringIO(SECRETS[("production", "ios")])
        )
    assert not get_platform_config("ios", "production").encrypted_secret


@override_settings(INTERCOM_IDENTITY_SECRETS=FROM_SETTINGS)
def test_admin_shows_a_managed_pair_read_only(admin_client: Client) -> None:
    config = get_platform_config("ios", "production")
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
    page = admin_client.get(url).content.decode()
    assert "managed by settings" in page
    assert 'name="new_secret"' not in page
    assert fingerprint(VAULT) in page
    assert VAULT not in page
    admin_client.post(url, {"new_secret": SECRETS[("production", "ios")]})
    assert not PlatformConfig.objects.get(pk=config.pk).encrypted_secret
    listing = admin_client.get(reverse("admin:intercom_identity_platformconfig_changelist")).content.decode()
    assert "managed by settings" in listing


@pytest.mark.parametrize(
    "value",
    [
        "production",
        {"Production!": {"ios": VAULT}},
        {"production": {"tv": VAULT}},
        {"production": {"ios": 42}},
        {"production": {"ios": VAULT + "\n"}},
    ],
)
def test_malformed_settings_secrets_are_e013_without_the_value(value: Any) -> None:
    with override_settings(INTERCOM_IDENTITY_SECRETS=value):
        messages = check_settings()
    assert [m.id for m in messages] == ["intercom_identity.E013"]
    assert VAULT not in messages[0].msg


def test_a_phase_that_lost_its_secret_is_e014() -> None:
    with override_settings(INTERCOM_IDENTITY_SECRETS=FROM_SETTINGS):
        change_phase(get_platform_config("ios", "production"), RolloutPhase.SENDING)
        assert check_phases_have_secrets(databases=["default"]) == []
    messages = check_phases_have_secrets(databases=["default"])
    assert [m.id for m in messages] == ["intercom_identity.E014"]
    assert "Production / iOS" in messages[0].msg
    assert check_phases_have_secrets() == []  # only with --database


def test_a_malformed_settings_secret_is_a_503_json_and_no_messenger(user_client: Client, user: Any) -> None:
    from tests.helpers import render

    for platform in ("ios", "web"):
        configure("production", platform, RolloutPhase.SENDING)
    with override_settings(
        INTERCOM_IDENTITY_ENVIRONMENT="production", INTERCOM_IDENTITY_SECRETS={"production": {"ios": VAULT + "\r"}}
    ):
        response = user_client.get("/intercom/user-hash/", {"platform": "ios"})
        html = render(user)
        quiet = check_phases_have_secrets(databases=["default"])
    assert response.status_code == 503
    assert response.json()["error"] == "misconfigured"
    assert VAULT not in response.content.decode()
    assert html == ""
    assert quiet == []  # E013 reports the malformed setting; this check stays quiet


@override_settings(INTERCOM_IDENTITY_SECRETS={"prod": {"ios": VAULT}})
def test_a_settings_entry_for_no_environment_is_w003() -> None:
    assert [m.id for m in check_phases_have_secrets(databases=["default"])] == ["intercom_identity.W003"]


def test_a_stored_secret_beside_a_settings_one_is_e015_until_cleared() -> None:
    configure("production", "ios")  # stored first
    with override_settings(INTERCOM_IDENTITY_SECRETS=FROM_SETTINGS):
        change_phase(get_platform_config("ios", "production"), RolloutPhase.SENDING)
        assert [m.id for m in check_phases_have_secrets(databases=["default"])] == ["intercom_identity.E015"]
        out = io.StringIO()
        call_command("intercom_identity", "clear-secret", "production", "ios", stdout=out)
        assert "cleared" in out.getvalue()
        assert check_phases_have_secrets(databases=["default"]) == []
    # The settings entry goes missing: no stale stored secret comes back; E014 says so, the view 503s.
    assert [m.id for m in check_phases_have_secrets(databases=["default"])] == ["intercom_identity.E014"]
    assert not get_platform_config("ios", "production").has_secret


def test_clear_secret_refuses_a_pair_in_use() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    with pytest.raises(CommandError, match="move it to 'off'"):
        call_command("intercom_identity", "clear-secret", "development", "ios", stdout=io.StringIO())
    assert get_platform_config("ios", "development").has_secret
    change_phase(get_platform_config("ios", "development"), RolloutPhase.OFF)
    call_command("intercom_identity", "clear-secret", "development", "ios", stdout=io.StringIO())
    assert not get_platform_config("ios", "development").has_secret
    from intercom_identity.models import AuditEvent

    assert AuditEvent.objects.filter(kind="secret", to_value="").exists()

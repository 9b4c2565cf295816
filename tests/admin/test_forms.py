"""admin/forms.py: the configuration form (new secret, minimum version), the reason posted with a
change, and the "Check a credential" form: what each accepts, and the error codes of its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from intercom_identity.admin.forms import AuditReasonForm, CheckCredentialForm, PlatformConfigForm
from intercom_identity.models import AuditEvent, RolloutPhase
from intercom_identity.validators import MAX_CREDENTIAL_FIELD_LENGTH
from tests.helpers import config_of, configure, ios, seen, users

pytestmark = pytest.mark.django_db

HASH = "a" * 64


def error_codes(form: Any) -> dict[str, list[str]]:
    return {field: [error.code for error in errors] for field, errors in form.errors.as_data().items()}


# --- the reason posted with a change -----------------------------------------------------------------


def test_a_reason_is_stripped_with_its_line_breaks_as_newlines() -> None:
    form = AuditReasonForm({"reason": "  QA only\r\nsee ticket 12 \n"})
    assert form.is_valid()
    assert form.cleaned_data["reason"] == "QA only\nsee ticket 12"
    assert AuditReasonForm({}).is_valid()


def test_a_reason_with_a_control_character_is_refused_by_the_audit_rule() -> None:
    form = AuditReasonForm({"reason": "fine\x00"})
    assert error_codes(form) == {"reason": ["invalid_reason"]}
    assert "U+0000" in form.errors["reason"][0]


# --- checking a credential ---------------------------------------------------------------------------


def check_form(**data: str) -> CheckCredentialForm:
    return CheckCredentialForm({"environment": "development", "platform": "ios", **data})


def test_an_identifier_needs_a_hash_or_a_jwt() -> None:
    form = check_form(user_id="42")
    assert form.errors["__all__"] == ["Paste the user_hash or the JWT the app sends."]
    assert check_form(user_id="42", user_hash=HASH).is_valid()
    assert check_form(email="jane@example.com", intercom_user_jwt="a.b.c").is_valid()
    assert check_form().is_valid()  # nothing to check yet: the page says so


def test_identifiers_are_kept_as_typed_and_credentials_stripped() -> None:
    form = check_form(user_id=" 42 ", user_hash=f" {HASH}\n")
    assert form.is_valid()
    assert (form.cleaned_data["user_id"], form.cleaned_data["user_hash"]) == (" 42 ", HASH)


def test_a_credential_field_is_bounded() -> None:
    form = check_form(user_id="42", user_hash=HASH, intercom_user_jwt="j" * (MAX_CREDENTIAL_FIELD_LENGTH + 1))
    assert error_codes(form) == {"intercom_user_jwt": ["max_length"]}


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production")
def test_the_environment_defaults_to_the_current_one() -> None:
    assert CheckCredentialForm()["environment"].initial == "production"


# --- a configuration ---------------------------------------------------------------------------------


def config_form(config: Any, **data: str) -> PlatformConfigForm:
    return PlatformConfigForm({"min_sending_version": config.min_sending_version, **data}, instance=config)


def test_a_minimum_version_that_is_not_a_release_number_is_refused() -> None:
    form = config_form(ios(), min_sending_version="banana")
    assert error_codes(form) == {"min_sending_version": ["invalid_version"]}
    form = config_form(ios(), min_sending_version=" 5.2.0 ")
    assert form.is_valid()
    assert form.cleaned_data["min_sending_version"] == "5.2.0"


def test_a_secret_that_looks_like_a_mistake_has_the_mistake_as_its_code() -> None:
    config = config_of("development", "ios")
    assert error_codes(config_form(config, new_secret="short")) == {"new_secret": ["too_short"]}
    assert error_codes(config_form(config, new_secret=" " + "s" * 40)) == {"new_secret": ["invalid_secret"]}
    assert config_form(config, new_secret="").is_valid()  # empty keeps the current one


def test_a_secret_from_settings_has_no_field_to_type_in() -> None:
    config = config_of("production", "ios")
    with override_settings(INTERCOM_IDENTITY_SECRETS={"production": {"ios": "from-settings-" + "0" * 30}}):
        assert "new_secret" not in PlatformConfigForm(instance=config).fields
    assert "new_secret" in PlatformConfigForm(instance=config).fields


def test_a_forced_minimum_needs_a_reason_only_when_it_contradicts_what_was_seen() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    for person in users(2, "old"):
        seen(person, "1.4.2", sent=False)
    assert error_codes(config_form(ios(), min_sending_version="1.0")) == {
        "min_sending_version": ["contradicts_evidence"]
    }
    assert error_codes(config_form(ios(), min_sending_version="1.0", force_min_version="on")) == {
        "min_version_reason": ["required"]
    }
    assert config_form(ios(), min_sending_version="1.0", force_min_version="on", min_version_reason="QA").is_valid()
    assert config_form(ios(), min_sending_version="2.0").is_valid()  # covers none of them


def test_the_admin_names_the_contradicted_versions_and_takes_a_forced_minimum(
    admin_client: Client, admin_user: Any
) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    for person in users(2, "old"):
        seen(person, "1.4.2", sent=False)
    url = reverse("admin:intercom_identity_platformconfig_change", args=[ios().pk])
    response = admin_client.post(url, {"min_sending_version": "1.0"})
    assert response.status_code == 200
    assert "users of 1.4.2 were seen without the credential" in response.content.decode()
    response = admin_client.post(url, {"min_sending_version": "1.0", "force_min_version": "on"})
    assert "A forced change needs a written reason." in response.content.decode()
    admin_client.post(url, {"min_sending_version": "1.0", "force_min_version": "on", "min_version_reason": "QA"})
    event = AuditEvent.objects.get(kind="min_sending_version")
    assert (event.actor, event.forced, event.reason, event.to_value) == (admin_user, True, "QA", "1.0")

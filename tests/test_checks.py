from __future__ import annotations

import io

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from intercom_identity.checks import (
    MESSAGES,
    check_encryption_keys,
    check_environment,
    check_settings,
    check_unknown_settings,
)

# `manage.py check` runs the model checks, which on Django 6 ask SQLite whether it supports JSON fields.
pytestmark = pytest.mark.django_db

KEY = "yq4Zp6L7m0f8lJ1gqS1-tX0vTn3pQ0v3mWJQ2Dk1s8A="


def ids(messages: list) -> list[str]:  # type: ignore[type-arg]
    return [m.id for m in messages]


def test_ids_are_unique_and_match_severity() -> None:
    made = [factory("x") for factory in MESSAGES.values()]
    assert len({m.id for m in made}) == len(made)
    for message in made:
        letter = message.id.split(".")[1][0]
        assert letter == ("E" if isinstance(message, Error) else "W"), message.id


def test_configured_keys_pass() -> None:
    assert check_encryption_keys() == []


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[], DEBUG=False)
def test_missing_keys_without_debug_is_an_error() -> None:
    assert ids(check_encryption_keys()) == ["intercom_identity.E001"]


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[], DEBUG=True)
def test_missing_keys_in_debug_is_a_warning() -> None:
    messages = check_encryption_keys()
    assert ids(messages) == ["intercom_identity.W001"]
    assert isinstance(messages[0], Warning)


@pytest.mark.parametrize("keys", [KEY, [KEY, "not-a-fernet-key"], [KEY, ""], [42], {"a": KEY}])
def test_malformed_keys_are_an_error_that_never_shows_a_key(keys: object) -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=keys):
        messages = check_encryption_keys()
    assert ids(messages) == ["intercom_identity.E002"]
    assert "not-a-fernet-key" not in messages[0].msg
    assert KEY not in messages[0].msg


@pytest.mark.parametrize("value", ["Production", "prod env", "", "../x", 7, "dev-"])
def test_environment_must_be_a_slug(value: object) -> None:
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT=value):
        assert ids(check_environment()) == ["intercom_identity.E003"]


@pytest.mark.parametrize("value", ["development", "production", "staging-eu", "qa_2"])
def test_slug_environments_pass(value: str) -> None:
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT=value):
        assert check_environment() == []


@override_settings(
    INTERCOM_IDENTITY_USER_ID="no.such.module.func",
    INTERCOM_IDENTITY_USER_EMAIL=42,
    INTERCOM_IDENTITY_AUTHENTICATE="intercom_identity.conf.PREFIX",
)
def test_bad_callables_each_have_their_own_id() -> None:
    assert ids(check_settings()) == ["intercom_identity.E004", "intercom_identity.E005", "intercom_identity.E006"]


@override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: "x")
def test_callables_may_be_given_directly() -> None:
    assert check_settings() == []


@override_settings(INTERCOM_IDENTITY_ENVIROMENT="production")
def test_misspelled_setting_is_a_warning() -> None:
    messages = check_unknown_settings()
    assert ids(messages) == ["intercom_identity.W002"]
    assert "INTERCOM_IDENTITY_ENVIROMENT" in messages[0].msg


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[], DEBUG=False)
def test_check_command_really_fails() -> None:
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.E001"):
        call_command("check")


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="Prod")
def test_check_command_fails_on_bad_environment() -> None:
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.E003"):
        call_command("check")


def test_check_command_passes_when_configured() -> None:
    call_command("check")


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("INTERCOM_IDENTITY_JWT_EXPIRY", 0, "E007"),
        ("INTERCOM_IDENTITY_JWT_EXPIRY", "3600", "E007"),
        ("INTERCOM_IDENTITY_JWT_SIGNED_FIELDS", "email", "E008"),
        ("INTERCOM_IDENTITY_JWT_SIGNED_FIELDS", ["e-mail"], "E008"),
        ("INTERCOM_IDENTITY_JWT_SIGNED_FIELDS", ["email", "iss"], "E008"),
        ("INTERCOM_IDENTITY_VERIFY_IN_PRODUCTION", "yes", "E009"),
        ("INTERCOM_IDENTITY_VERIFY_RATE_LIMIT", -1, "E010"),
        ("INTERCOM_IDENTITY_VERIFY_RATE_LIMIT", True, "E010"),
    ],
)
def test_malformed_jwt_and_verify_settings(setting: str, value: object, check_id: str) -> None:
    with override_settings(**{setting: value}):
        assert ids(check_settings()) == [f"intercom_identity.{check_id}"]


@override_settings(INTERCOM_IDENTITY_JWT_SIGNED_FIELDS=["email", "password"])
def test_password_cannot_be_a_signed_field() -> None:
    assert ids(check_settings()) == ["intercom_identity.E008"]


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER", 0, "E022"),
        ("INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER", "3", "E022"),
        ("INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS", 29, "E023"),
        ("INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS", None, "E023"),
        ("INTERCOM_IDENTITY_SENDING_EVIDENCE_SHARE", 0, "E024"),
        ("INTERCOM_IDENTITY_SENDING_EVIDENCE_SHARE", 1.5, "E024"),
        ("INTERCOM_IDENTITY_SENDING_EVIDENCE_SHARE", "50%", "E024"),
        ("INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS", 0, "E025"),
        ("INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS", 2.0, "E025"),
        ("INTERCOM_IDENTITY_WEB_SOAK", -1, "E026"),
        ("INTERCOM_IDENTITY_WEB_SOAK", "1d", "E026"),
        ("INTERCOM_IDENTITY_WEB_SOAK", 1.5, "E026"),
    ],
)
def test_malformed_activity_settings(setting: str, value: object, check_id: str) -> None:
    with override_settings(**{setting: value}):
        assert ids(check_settings()) == [f"intercom_identity.{check_id}"]
        with pytest.raises(SystemCheckError, match=rf"intercom_identity\.{check_id}"):
            call_command("check")


@override_settings(
    INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER=1,
    INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS=30,
    INTERCOM_IDENTITY_SENDING_EVIDENCE_SHARE=1,
    INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS=1,
    INTERCOM_IDENTITY_WEB_SOAK=0,
)
def test_activity_settings_at_their_limits_pass() -> None:
    assert check_settings() == []


def deploy_check_output() -> str:
    err = io.StringIO()
    # --tag security: another test may leave DJANGO_ALLOW_ASYNC_UNSAFE set (async.E001 under --deploy).
    call_command("check", "--deploy", "--tag", "security", stdout=io.StringIO(), stderr=err)
    return err.getvalue()


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://intercom-proxy.internal:8080", True),
        ("http://api.intercom.io", True),
        ("http://10.0.0.7", True),
        ("https://api.eu.intercom.io", False),
        ("http://127.0.0.1:9000", False),
        ("http://localhost:9000", False),
        ("http://[::1]:9000", False),
        (None, False),
    ],
)
def test_check_deploy_warns_of_an_api_url_in_clear_to_another_host(url: str | None, warned: bool) -> None:
    with override_settings(INTERCOM_IDENTITY_API_BASE_URL=url):
        output = deploy_check_output()
        plain = io.StringIO()
        call_command("check", "--tag", "security", stdout=io.StringIO(), stderr=plain)
    assert ("intercom_identity.W012" in output) is warned
    assert "intercom_identity.W012" not in plain.getvalue()  # a deployment concern: --deploy only
    if warned:
        assert "token would travel in clear" in output
        assert "https://" in output


# --- the middleware that makes pages carrying a credential uncacheable -------------------------

WITHOUT_MESSENGER_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]


def test_manage_py_check_warns_when_the_messenger_middleware_is_missing() -> None:
    """The tags mark a page that carries a credential; only the middleware makes it ``private,
    no-store``. Without it such pages go out cacheable, and ``check`` said nothing."""
    out, err = io.StringIO(), io.StringIO()
    with override_settings(MIDDLEWARE=WITHOUT_MESSENGER_MIDDLEWARE):
        call_command("check", stdout=out, stderr=err)
    report = out.getvalue() + err.getvalue()
    assert "intercom_identity.W021" in report
    assert "Cache-Control: private, no-store" in report
    assert "SILENCED_SYSTEM_CHECKS" in report  # a mobile-only site, which never renders the tags


def test_the_missing_middleware_warning_names_the_risk_and_the_fix() -> None:
    from intercom_identity.checks import check_middleware

    with override_settings(MIDDLEWARE=WITHOUT_MESSENGER_MIDDLEWARE):
        (message,) = check_middleware()
    assert isinstance(message, Warning)
    assert message.id == "intercom_identity.W021"
    assert "a page cache" in message.msg
    assert "intercom_identity.middleware.MessengerSessionMiddleware" in (message.hint or "")

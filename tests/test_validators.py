"""validators.py: every input rule, what it accepts, and what its refusals say (never the refused
value, which may be a secret or a token pasted in the wrong place)."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from intercom_identity.exceptions import InvalidAppId, InvalidAuditText, SecretLooksWrong
from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase
from intercom_identity.validators import (
    MAX_APP_ID_LENGTH,
    MAX_ENVIRONMENT_SLUG_LENGTH,
    MAX_TOKEN_LENGTH,
    MAX_VERSION_LENGTH,
    MIN_SECRET_LENGTH,
    clean_app_id,
    clean_audit_reason,
    clean_min_version,
    clean_version,
    is_utf8_text,
    validate_api_token,
    validate_secret_choice,
)
from tests.helpers import configure, run

# What a hostile reason looks like: each hides or rewrites what an operator reads.
HOSTILE = [
    pytest.param("ok\x00then", id="nul"),
    pytest.param("routine\r\x1b[2K2026-01-01 root: development/ios phase enforced -> off", id="cr-and-esc"),
    pytest.param("tab\there", id="tab"),
    pytest.param("\x1b]0;innocent\x07", id="osc-title"),
    pytest.param("x\x9b2Jy", id="c1-csi"),
    pytest.param("abc\u202edcba", id="bidi-override"),
    pytest.param("line\u2028separator", id="line-separator"),
]


@pytest.fixture
def ios(db: None) -> PlatformConfig:
    return configure("development", "ios", RolloutPhase.SENDING)


# --- an audit reason, refused where it is received (the admin's confirmation, the command's --reason) ---


@pytest.mark.parametrize("reason", HOSTILE)
def test_admin_confirmation_refuses_the_reason(admin_client: Client, ios: PlatformConfig, reason: str) -> None:
    audited = AuditEvent.objects.count()
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[ios.pk])
    response = admin_client.post(
        url, {"transition": "phase:enforced", "confirm": "yes", "force": "yes", "reason": reason}, follow=True
    )
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.SENDING
    assert AuditEvent.objects.count() == audited


def test_admin_action_refuses_the_reason(admin_client: Client, ios: PlatformConfig) -> None:
    response = admin_client.post(
        reverse("admin:intercom_identity_platformconfig_changelist"),
        {
            "action": "move_to_enforced",
            "_selected_action": [ios.pk],
            "confirm": "yes",
            "force": "yes",
            "reason": "fine\x00",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.SENDING


def test_admin_keeps_newlines_as_browsers_send_them(admin_client: Client, ios: PlatformConfig) -> None:
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[ios.pk])
    admin_client.post(
        url,
        {"transition": "phase:enforced", "confirm": "yes", "force": "yes", "reason": "QA only\r\nsee ticket 12"},
    )
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.ENFORCED
    assert AuditEvent.objects.filter(kind="phase").latest("id").reason == "QA only\nsee ticket 12"


@pytest.mark.parametrize("reason", HOSTILE)
@pytest.mark.parametrize(
    "args",
    [
        ("phase", "development", "ios", "enforced", "--force"),
        ("min-version", "development", "ios", "5.2.0"),
        ("clear-secret", "development", "android"),
    ],
    ids=["phase", "min-version", "clear-secret"],
)
def test_command_refuses_the_reason(ios: PlatformConfig, args: tuple[str, ...], reason: str) -> None:
    configure("development", "android")
    audited = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="control characters"):
        run(*args, "--reason", reason)
    assert AuditEvent.objects.count() == audited
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.SENDING
    assert ios.min_sending_version == ""
    assert PlatformConfig.objects.get(environment__slug="development", platform="android").has_secret


# --- app IDs ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "abc12def", "demo_app", "a-b", "x" * MAX_APP_ID_LENGTH])
def test_an_app_id_of_letters_digits_dash_and_underscore_is_kept(value: str) -> None:
    assert clean_app_id(value) == value


def test_an_app_id_too_long_says_both_lengths() -> None:
    with pytest.raises(InvalidAppId, match=rf"at most {MAX_APP_ID_LENGTH} characters; this one has 65"):
        clean_app_id("x" * 65)


@pytest.mark.parametrize(
    "value", [" prodapp1", "prodapp1\n", "https://app.intercom.com/a/apps/prodapp1", "'prodapp1'", "äpp1"]
)
def test_an_app_id_with_other_characters_is_a_paste_mistake(value: str) -> None:
    with pytest.raises(InvalidAppId, match="only letters, digits") as raised:
        clean_app_id(value)
    assert isinstance(raised.value, ValueError)  # forms and commands catch ValueError
    assert value.strip() not in str(raised.value)


# --- versions ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["garbage!!", "v2.0", "2.0 beta", "", " ", "1" * 65, "2.0\n1", "\u0662.0"])
def test_recorded_versions_look_like_release_numbers(value: str) -> None:
    with pytest.raises(ValueError, match="starts with a digit"):
        clean_version(value)


def test_recorded_versions_may_carry_build_metadata() -> None:
    assert clean_version(" 5.2.0-beta.1+build_7 ") == "5.2.0-beta.1+build_7"
    assert clean_version("1" * 64) == "1" * 64


@pytest.mark.parametrize(
    ("value", "kept"), [(" 5.2.0 ", "5.2.0"), ("v5.2.0", "v5.2.0"), ("5.2.0-beta.1", "5.2.0-beta.1"), ("7", "7")]
)
def test_a_minimum_version_is_a_release_number(value: str, kept: str) -> None:
    assert clean_min_version(value) == kept


@pytest.mark.parametrize("value", ["", "   ", "1" * (MAX_VERSION_LENGTH + 1), "5.2.0\x00", "5.\u0662.0"])
def test_a_minimum_version_outside_printable_ascii_or_too_long_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=rf"1 to {MAX_VERSION_LENGTH} printable ASCII characters"):
        clean_min_version(value)


def test_a_minimum_version_that_is_not_a_release_number_names_the_typo() -> None:
    with pytest.raises(ValueError, match="'banana' is not a release number"):
        clean_min_version("banana")


# --- secrets and API tokens -------------------------------------------------------------

SECRET = "0123456789abcdef0123456789abcdef01234567"  # 40 characters, like Intercom's


@pytest.mark.parametrize(
    ("secret", "app_ids", "same_as", "mistake", "says"),
    [
        ("short-secret", (), None, "too_short", f"has 12 characters; .*at least {MIN_SECRET_LENGTH}"),
        ("prodapp1-long-enough-id", ("", "prodapp1-long-enough-id"), None, "app_id", "is an Intercom app ID"),
        (SECRET, (), "production/ios", "other_pair", "already stored for production/ios"),
    ],
)
def test_a_secret_that_is_an_obvious_mistake_says_which(
    secret: str, app_ids: tuple[str, ...], same_as: str | None, mistake: str, says: str
) -> None:
    with pytest.raises(SecretLooksWrong, match=says) as raised:
        validate_secret_choice(secret, app_ids=app_ids, same_as=same_as)
    assert raised.value.mistake == mistake
    assert secret not in str(raised.value)


def test_a_secret_of_its_own_is_accepted_whatever_app_ids_are_empty() -> None:
    validate_secret_choice(SECRET, app_ids=("", "prodapp1"), same_as=None)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "empty"),
        ("t" * (MAX_TOKEN_LENGTH + 1), f"longer than {MAX_TOKEN_LENGTH}"),
        ("tok en-12345", "whitespace"),
        ("token-12345\n", "whitespace"),
        ("tøken-12345", "non-ASCII"),
    ],
)
def test_an_api_token_that_cannot_be_intercoms_is_refused_without_repeating_it(token: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as raised:
        validate_api_token(token)
    if token:
        assert token.strip() not in str(raised.value)


def test_an_api_token_of_printable_ascii_is_accepted() -> None:
    validate_api_token("dG9rOmFhYmJjY2RkLTExMjItMzM0NC01NTY2LTc3ODg5OWFhYmJjYzoxOjA=")


# --- text -------------------------------------------------------------------------------


def test_only_text_utf8_can_carry_is_utf8_text() -> None:
    assert is_utf8_text("kéy 秘密 \U0001f511")
    assert not is_utf8_text("half a pair \ud800")


def test_an_audit_reason_keeps_newlines_and_any_language() -> None:
    assert (
        clean_audit_reason("QA only\r\nsee ticket 12\nmerci, ça marche") == "QA only\nsee ticket 12\nmerci, ça marche"
    )


def test_an_audit_reason_refusal_names_up_to_five_code_points_in_order_never_the_text() -> None:
    reason = "secret-looking\x1b[2K\u202e\x00\t\x7f\u2028\x9b"
    with pytest.raises(InvalidAuditText) as raised:
        clean_audit_reason(reason)
    message = str(raised.value)
    assert "(U+0000, U+0009, U+001B, U+007F, U+009B)" in message
    assert "U+2028" not in message  # the sixth and seventh are not listed
    assert "secret-looking" not in message


# --- the limits the models store -------------------------------------------------------


def test_the_audit_trail_holds_any_environment_slug() -> None:
    slug = Environment._meta.get_field("slug").max_length
    assert AuditEvent._meta.get_field("environment").max_length == slug == MAX_ENVIRONMENT_SLUG_LENGTH

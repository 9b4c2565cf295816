"""What the workspace commands print from Intercom or from the database goes through the same
terminal rule as every other line of the command (``text.for_terminal``): an admin's email, an
activity description or the app id Intercom reports cannot move the cursor, recolour, reorder or
hide what an operator reads, in the command's output, its errors, or the system check's messages.
The token commands' ``--reason`` is refused like any other audit reason."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intercom_identity.checks import check_workspace_drift
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import AuditEvent, Environment, PlatformConfig
from intercom_identity.rollout.changes import store_api_token
from tests.conftest import configure
from tests.intercom_fake import FakeIntercom, ago, log_entry
from tests.test_hardening_audit_text import assert_terminal_safe
from tests.test_workspace import run

pytestmark = pytest.mark.django_db

STORED = "dG9rOnN0b3JlZC0xMTExLTIyMjItMzMzMy00NDQ0NTU1NTY2NjY6MTow"
# Each hides or rewrites what an operator reads: a colour and a line erase, a bidi override, a
# zero-width space (two names that read the same), a no-break space, a line separator.
HOSTILE_EMAIL = "eve\x1b[32m@example.com\u202emoc.elpmaxe@nhoj"
HOSTILE_DESCRIPTION = "Changed\u200b settings\u00a0\r\x1b[2Kall is well\u2028fake line"


def secret_changed_by(intercom: FakeIntercom, email: str, description: str) -> None:
    ios = configure("production", "ios")
    PlatformConfig.objects.filter(pk=ios.pk).update(secret_set_at=ago(days=10))
    entry = log_entry("55", "messenger_api_secret_creation", ago(days=2), email=email, description=description)
    intercom.answer(identity_verification=False, pages=[[entry]], id_code="prod\x1b]0;pwned\x07app")


def test_workspace_text_output_escapes_intercoms_emails_descriptions_and_app_id(intercom: FakeIntercom) -> None:
    secret_changed_by(intercom, HOSTILE_EMAIL, HOSTILE_DESCRIPTION)
    code, out, error = run("workspace", "production")
    assert code == 1
    assert error == "2 drift finding(s) for production."  # app_id_mismatch, secret_changed_in_intercom
    assert_terminal_safe(out)
    assert "eve\\x1b[32m@example.com\\u202emoc.elpmaxe@nhoj" in out  # the event line and the finding
    assert "Changed\\u200b settings\\xa0\\r\\x1b[2Kall is well\\u2028fake line" in out
    assert "prod\\x1b]0;pwned\\x07app" in out
    # One line per record: the header, two findings, one event.
    assert len(out.splitlines()) == 4, out


def test_the_system_check_escapes_what_the_last_sync_stored(intercom: FakeIntercom) -> None:
    secret_changed_by(intercom, HOSTILE_EMAIL, "")
    run("workspace", "production", "--json")
    messages = [message.msg for message in check_workspace_drift(databases=["default"])]
    assert all(message.isprintable() for message in messages), messages
    messages = [message for message in messages if message.startswith("production:")]
    assert len(messages) == 2, messages  # app_id_mismatch, secret_changed_in_intercom
    assert any("eve\\x1b[32m@example.com" in message for message in messages)


def hostile_label() -> Environment:
    Environment.objects.filter(slug="production").update(label="Prod\x1b[2J\rStaging")
    return Environment.objects.get(slug="production")


def test_clear_api_token_escapes_the_stored_label(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    store_api_token(hostile_label(), STORED)
    out = io.StringIO()
    call_command("intercom_identity", "clear-api-token", "production", "--reason", "rotated", stdout=out)
    assert_terminal_safe(out.getvalue(), lines=1)
    assert "Prod\\x1b[2J\\rStaging" in out.getvalue()
    assert fingerprint(STORED) in out.getvalue()


def test_set_api_token_refused_for_a_token_from_settings_names_the_label_escaped(intercom: FakeIntercom) -> None:
    hostile_label()
    with pytest.raises(CommandError) as raised:
        call_command(
            "intercom_identity", "set-api-token", "production", stdin=io.StringIO(STORED), stdout=io.StringIO()
        )
    assert "managed by settings" in str(raised.value)
    assert str(raised.value).isprintable()
    assert "Prod\\x1b[2J\\rStaging" in str(raised.value)


def test_set_api_token_prints_the_fingerprint_alone(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    hostile_label()
    out = io.StringIO()
    call_command("intercom_identity", "set-api-token", "production", stdin=io.StringIO(STORED), stdout=out)
    assert out.getvalue() == fingerprint(STORED) + "\n"


@pytest.mark.parametrize("reason", ["rotated\r\x1b[2Kroutine", "ok\x00then", "abc\u202edcba"])
def test_clear_api_token_refuses_a_reason_with_control_characters(settings: Any, reason: str) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    environment = Environment.objects.get(slug="production")
    store_api_token(environment, STORED)
    with pytest.raises(CommandError) as raised:
        call_command("intercom_identity", "clear-api-token", "production", "--reason", reason, stdout=io.StringIO())
    assert "control characters" in str(raised.value)
    assert str(raised.value).isprintable()
    environment.refresh_from_db()
    assert environment.api_token_fingerprint == fingerprint(STORED)  # nothing changed
    assert not AuditEvent.objects.filter(kind="api_token", to_value="").exists()

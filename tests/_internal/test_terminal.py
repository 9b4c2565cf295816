"""Audit text cannot disguise a change on an operator's terminal, nor break the admin.

A reason is refused where it is received (the admin's confirmation, the command's ``--reason``)
when it holds NUL or another control character than a newline; and every line the command
prints from stored text (reasons, actor names, labels, slugs, versions) shows control characters
as escapes, so rows written before the rule (or by raw SQL) cannot move the cursor or recolour.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase, VersionTally
from tests.helpers import assert_terminal_safe, configure

pytestmark = pytest.mark.django_db

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


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("intercom_identity", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def superuser_client(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def ios() -> PlatformConfig:
    return configure("development", "ios", RolloutPhase.SENDING)


# --- refused where it is received -----------------------------------------------------


@pytest.mark.parametrize("reason", HOSTILE)
def test_admin_confirmation_refuses_the_reason(superuser_client: Client, ios: PlatformConfig, reason: str) -> None:
    audited = AuditEvent.objects.count()
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[ios.pk])
    response = superuser_client.post(
        url, {"transition": "phase:enforced", "confirm": "yes", "force": "yes", "reason": reason}, follow=True
    )
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.SENDING
    assert AuditEvent.objects.count() == audited


def test_admin_action_refuses_the_reason(superuser_client: Client, ios: PlatformConfig) -> None:
    response = superuser_client.post(
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


def test_admin_keeps_newlines_as_browsers_send_them(superuser_client: Client, ios: PlatformConfig) -> None:
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[ios.pk])
    superuser_client.post(
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


# --- neutralised where it is printed --------------------------------------------------


def test_history_prints_stored_control_characters_as_escapes(ios: PlatformConfig) -> None:
    AuditEvent.objects.all().delete()
    AuditEvent.objects.create(
        actor_label="root\x1b[8m",
        environment="development",
        platform="ios",
        kind="phase",
        from_value="sending",
        to_value="enforced",
        reason="ok\r\x1b[2K2026-01-01 root: development/ios phase enforced -> off\nsecond line\x9b\u202e",
        forced=True,
    )
    output = run("history")
    assert_terminal_safe(output, lines=1)
    assert "FORCED" in output
    assert "\\x1b[2K" in output
    assert "\\r" in output
    assert "\\n" in output


def test_status_phase_mode_and_adoption_print_stored_names_as_escapes(ios: PlatformConfig) -> None:
    Environment.objects.filter(slug="development").update(label="Dev\x1b]0;owned\x07\r")
    Environment.objects.create(slug="evil", label="Evil")
    Environment.objects.filter(slug="evil").update(slug="evil\x1b[2J")
    VersionTally.objects.create(
        environment=ios.environment,
        platform="ios",
        kind=VersionTally.Kind.LATEST,
        day=timezone.now().date() - timedelta(days=1),
        version="2.0\x1b[31m",
        users=3,
    )
    assert_terminal_safe(run("status"))
    assert_terminal_safe(run("phase", "development", "ios", "off"), lines=1)
    assert_terminal_safe(run("mode", "development", "ios", "jwt"), lines=1)
    assert_terminal_safe(run("min-version", "development", "ios", "5.0.0"), lines=1)
    assert_terminal_safe(run("adoption", "development", "ios"))
    assert "\\x1b[31m" in run("adoption", "development", "ios")


def test_errors_print_stored_names_as_escapes(ios: PlatformConfig) -> None:
    Environment.objects.filter(slug="development").update(label="Dev\x1b[2K\r")
    with pytest.raises(CommandError) as raised:
        run("phase", "development", "ios", "enforced")  # below the threshold: the error names the row
    assert str(raised.value).isprintable()
    assert "\\x1b[2K" in str(raised.value)


def test_json_output_stays_escaped(ios: PlatformConfig, settings: Any) -> None:
    AuditEvent.objects.create(
        actor_label="root", environment="development", platform="ios", kind="phase", reason="a\x1b[2Kb"
    )
    assert "\x1b" not in run("history", "--json")

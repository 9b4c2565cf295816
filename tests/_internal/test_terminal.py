"""_internal/terminal.py: every line the command prints from stored text (reasons, actor names,
labels, slugs, versions) shows control characters as escapes, so rows written before the audit
reason's rule (tests/test_validators.py) or by raw SQL cannot move the cursor or recolour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.utils import timezone

from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase, VersionTally
from tests.helpers import assert_terminal_safe, configure, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ios() -> PlatformConfig:
    return configure("development", "ios", RolloutPhase.SENDING)


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

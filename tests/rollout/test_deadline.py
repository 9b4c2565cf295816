"""Where the production environments stand against Intercom's deadline: the system check (W019), the
status command and the overview, before, during and after the 60-day window; the setting (E039)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from intercom_identity.models import Environment, RolloutPhase
from intercom_identity.rollout.deadline import deadline_standing, served_production_environments
from tests.helpers import configure, make_ready, run, staff_client

pytestmark = pytest.mark.django_db


def check_output(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("check", "--database", "default", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def w019(output: str) -> list[str]:
    return [line for line in output.splitlines() if "intercom_identity.W019" in line]


def test_before_the_window_nothing_is_said(today: Callable[[str], None]) -> None:
    today("2026-12-01")  # 61 days before
    assert deadline_standing() is None
    assert w019(check_output()) == []
    assert "deadline" not in run("status")


def test_in_the_window_each_unenforced_production_platform_is_listed_with_its_next_step(
    today: Callable[[str], None],
) -> None:
    today("2026-12-02")  # 60 days before: the first day of the window
    configure("production", "ios", RolloutPhase.ENFORCED)
    configure("production", "android", RolloutPhase.SENDING)
    make_ready("production", "android")
    warnings = w019(check_output())
    # ios is enforced: not listed; web is off with no secret; android is ready.
    assert len(warnings) == 2
    assert all("60 day(s) left until Intercom's deadline (2027-01-31)" in line for line in warnings)
    android = next(line for line in warnings if "production android" in line)
    assert "adoption 100.0% meets the threshold 95.0%" in android
    assert "manage.py intercom_identity phase production android enforced" in android
    web = next(line for line in warnings if "production web" in line)
    assert "create-secret production web" in web


def test_a_platform_below_the_threshold_is_told_to_ship_a_version_first(today: Callable[[str], None]) -> None:
    for platform in ("ios", "android", "web"):
        configure("production", platform, RolloutPhase.SENDING)
    standing = deadline_standing()
    assert standing is not None
    assert standing.days_left == 55
    steps = {row.platform: row for row in standing.platforms}
    assert steps["ios"].next_phase == "enforced"
    assert steps["ios"].readiness is not None
    assert "below the threshold" in steps["ios"].next_step


def test_after_the_deadline_the_warning_says_it_passed(today: Callable[[str], None]) -> None:
    today("2027-02-03")
    warnings = w019(check_output())
    assert len(warnings) == 3
    assert "Intercom's deadline (2027-01-31) passed 3 day(s) ago" in warnings[0]


def test_on_the_day_itself_zero_days_are_left(today: Callable[[str], None]) -> None:
    today("2027-01-31")
    standing = deadline_standing()
    assert standing is not None
    assert (standing.days_left, standing.passed) == (0, False)


def test_every_platform_enforced_means_no_warning(today: Callable[[str], None]) -> None:
    for platform in ("ios", "android", "web"):
        configure("production", platform, RolloutPhase.ENFORCED)
    assert w019(check_output()) == []
    assert "Every platform of the served production environments is enforced." in run("status")


def test_none_turns_the_reminders_off(today: Callable[[str], None], settings: Any) -> None:
    settings.INTERCOM_IDENTITY_DEADLINE = None
    assert deadline_standing() is None
    assert w019(check_output()) == []


def test_the_status_command_lists_the_platforms_and_days_left(today: Callable[[str], None]) -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    out = run("status")
    assert "55 day(s) left until Intercom's deadline (2027-01-31)" in out
    assert "production ios is in phase 'sending': adoption" in out
    assert "production web is in phase 'off': store a secret" in out


def test_only_served_production_environments_are_judged(today: Callable[[str], None], settings: Any) -> None:
    Environment.objects.create(slug="staging", label="Staging")
    Environment.objects.create(slug="eu-prod", label="EU production", is_production=True)
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = ["production", "staging"]
    # development (the default) and staging are served but not production; eu-prod is not served here.
    assert [env.slug for env in served_production_environments()] == ["production"]
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = ["production", "eu-prod"]
    assert sorted(env.slug for env in served_production_environments()) == ["eu-prod", "production"]
    standing = deadline_standing()
    assert standing is not None
    assert {row.environment for row in standing.platforms} == {"eu-prod", "production"}
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = []
    assert deadline_standing().platforms == ()  # type: ignore[union-attr]


def test_the_overview_shows_the_rows_with_adoption_and_next_phase(today: Callable[[str], None]) -> None:
    superuser_client = staff_client("viewer", "view_platformconfig")
    configure("production", "android", RolloutPhase.SENDING)
    make_ready("production", "android")
    page = superuser_client.get("/admin/intercom_identity/platformconfig/overview/").content.decode()
    assert 'id="intercom-deadline"' in page
    assert "55 day(s) left until Intercom&#x27;s deadline (2027-01-31)" in page
    row = page.split('data-environment="production" data-platform="android"')[1].split("</tr>")[0]
    assert "<td>100.0%</td>" in row
    assert "<td>enforced</td>" in row


def test_the_overview_is_quiet_before_the_window(today: Callable[[str], None]) -> None:
    today("2026-11-01")
    client = staff_client("viewer", "view_platformconfig")
    page = client.get("/admin/intercom_identity/platformconfig/overview/").content.decode()
    assert 'id="intercom-deadline"' not in page


@pytest.mark.parametrize("value", ["31/01/2027", 20270131, "2027-02-30", True])
def test_a_malformed_deadline_is_error_e039(settings: Any, value: object) -> None:
    settings.INTERCOM_IDENTITY_DEADLINE = value
    out = StringIO()
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.E039"):
        call_command("check", stdout=out, stderr=out)


def test_a_date_object_is_accepted(settings: Any) -> None:
    from intercom_identity.conf import conf

    settings.INTERCOM_IDENTITY_DEADLINE = date(2027, 3, 1)
    assert date(2027, 3, 1) == conf.DEADLINE
    settings.INTERCOM_IDENTITY_DEADLINE = "2027-03-02"
    assert date(2027, 3, 2) == conf.DEADLINE

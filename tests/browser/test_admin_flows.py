"""The admin in a real browser: secrets, phases, the guard, the audit trail, permissions, checks."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import AuditEvent, PlatformConfig, RolloutPhase
from tests.browser.helpers import admin_login, adoption_history, click_and_wait, screenshot
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db(transaction=True)

NEW_IOS_SECRET = "browser-ios-secret-5a4b3c2d1e0f9a8b7c6d5e4f3a2b"


@pytest.fixture
def root(db: None) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-pw-123")


def config_of(env: str, platform: str) -> PlatformConfig:
    return PlatformConfig.objects.get(environment__slug=env, platform=platform)


def test_secret_phase_guard_force_and_audit(page: Any, live_server: Any, root: Any) -> None:
    adoption_history("ios", users=4, sending=1)
    base = live_server.url
    admin_login(page, base, "root", "root-pw-123")
    ios = config_of("development", "ios")

    # Set the development iOS secret: the page never shows it back.
    page.goto(f"{base}/admin/intercom_identity/platformconfig/{ios.pk}/change/")
    page.fill("#id_new_secret", NEW_IOS_SECRET)
    click_and_wait(page, "input[name=_continue]")
    assert fingerprint(NEW_IOS_SECRET) in page.content()
    assert NEW_IOS_SECRET not in page.content()
    assert page.input_value("#id_new_secret") == ""

    # Off -> sending, through the button and its confirmation.
    click_and_wait(page, "a.intercom-step[title='Move to Sending (not enforced)']")
    click_and_wait(page, "input[type=submit][value^='Yes, move to']")
    assert config_of("development", "ios").phase == RolloutPhase.SENDING

    # Enforcement below the threshold: the guard shows its numbers, and the button goes nowhere
    # until the change is forced with a reason (the server refuses it too: tests/admin/test_platform_configs.py).
    page.goto(f"{base}/admin/intercom_identity/platformconfig/overview/")
    click_and_wait(page, "table[data-environment=development] tr[data-platform=ios] a.button:has-text('enforced')")
    readiness = page.inner_text("#readiness")
    assert "25.0%" in readiness
    assert "95.0%" in readiness
    screenshot(page, "guard")
    url = page.url
    page.click("input[type=submit][value^='Yes, move to']")
    assert page.evaluate("() => document.getElementById('id_force').validity.valueMissing")
    assert page.url == url
    assert config_of("development", "ios").phase == RolloutPhase.SENDING

    # Forced, with a reason: it goes through and the audit trail says so.
    page.goto(f"{base}/admin/intercom_identity/platformconfig/{ios.pk}/transition/?to=phase:enforced")
    page.fill("#id_reason", "1.4.2 is only on QA devices")
    page.check("#id_force")
    click_and_wait(page, "input[type=submit][value^='Yes, move to']")
    assert config_of("development", "ios").phase == RolloutPhase.ENFORCED
    page.goto(f"{base}/admin/intercom_identity/auditevent/")
    row = page.locator("#result_list tbody tr", has_text="1.4.2 is only on QA devices")
    assert row.count() == 1
    assert "Phase: Sending (not enforced) → Enforced" in row.inner_text()
    assert "25.0%" in row.inner_text()
    assert row.locator(".intercom-badge", has_text="forced").count() == 1
    event = AuditEvent.objects.get(reason="1.4.2 is only on QA devices")
    assert (event.forced, event.actor_label, event.adoption_ratio) == (True, "root", 0.25)


def test_staff_without_production_permission_cannot_change_production(page: Any, live_server: Any) -> None:
    from django.contrib.auth.models import Permission

    configure("production", "web")
    configure("development", "ios")  # a row this user may move (a row without a secret offers no move)
    staff = get_user_model().objects.create_user("dev-staff", "dev@example.com", "dev-pw-123", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_platformconfig", "change_platformconfig", "view_auditevent"])
    )
    base = live_server.url
    admin_login(page, base, "dev-staff", "dev-pw-123")
    page.goto(f"{base}/admin/intercom_identity/platformconfig/overview/")
    production = page.locator("table[data-environment=production]")
    assert production.locator("a.button").count() == 0
    assert "Needs the manage-production permission" in production.locator("tr[data-platform=web]").inner_text()
    assert page.locator("table[data-environment=development] a.button").count() > 0
    web = config_of("production", "web")
    response = page.goto(f"{base}/admin/intercom_identity/platformconfig/{web.pk}/transition/?to=phase:sending")
    assert response is not None
    assert response.status == 403
    page.goto(f"{base}/admin/intercom_identity/platformconfig/{web.pk}/change/")
    assert page.locator("#id_new_secret").count() == 0
    assert config_of("production", "web").phase == RolloutPhase.OFF


def test_check_page_explains_a_hash_made_with_the_android_secret(page: Any, live_server: Any, root: Any) -> None:
    for platform in ("ios", "android"):
        configure("development", platform, RolloutPhase.SENDING)
    base = live_server.url
    admin_login(page, base, "root", "root-pw-123")
    page.goto(f"{base}/admin/intercom_identity/platformconfig/")
    click_and_wait(page, "text=Check a credential")
    page.select_option("#id_environment", "development")
    page.select_option("#id_platform", "ios")
    page.fill("#id_user_id", "42")
    android_hash = hmac.new(SECRETS[("development", "android")].encode(), b"42", hashlib.sha256).hexdigest()
    page.fill("#id_user_hash", android_hash)
    click_and_wait(page, "input[type=submit][value=Check]")
    result = page.locator("#check-result")
    assert result.get_attribute("data-reason") == "wrong_platform_secret"
    assert "Android" in result.inner_text()
    screenshot(page, "check")
    for secret in SECRETS.values():
        assert secret not in page.content()


def test_overview_shows_the_matrix_and_draws_the_trend(page: Any, live_server: Any, root: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    configure("development", "android", RolloutPhase.SENDING)
    adoption_history("ios", users=10, sending=9)
    adoption_history("android", users=6, sending=6)
    base = live_server.url
    admin_login(page, base, "root", "root-pw-123")
    page.goto(f"{base}/admin/intercom_identity/platformconfig/overview/")
    for env in ("development", "production"):
        for platform in ("ios", "android", "web"):
            assert page.locator(f"table[data-environment={env}] tr[data-platform={platform}]").count() == 1
    ios_row = page.locator("table[data-environment=development] tr[data-platform=ios]")
    assert re.search(r"90.0% \(9 / 10\)", ios_row.inner_text())
    chart = ios_row.locator("svg.intercom-trend")
    assert chart.is_visible()
    assert chart.locator("polyline").count() == 1
    assert chart.locator("circle").count() >= 10
    assert chart.locator("line.threshold").count() == 1
    screenshot(page, "overview")

"""Workspace truth in a real browser: a sync against the local Intercom puts a drift banner on the overview."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from intercom_identity.models import RolloutPhase
from tests.browser.helpers import admin_login, click_and_wait, screenshot
from tests.helpers import configure
from tests.intercom_fake import TOKENS, FakeIntercom, ago, log_entry

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sync_shows_the_drift_banner(page: Any, live_server: Any, intercom: FakeIntercom) -> None:
    get_user_model().objects.create_superuser("root", "root@example.com", "root-pw-123")
    configure("development", "ios", RolloutPhase.SENDING)
    configure("development", "web", RolloutPhase.SENDING)
    intercom.answer(
        identity_verification=True,
        id_code="devapp01",
        pages=[[log_entry("301", "app_identity_verification_change", ago(hours=1), description="Enforced")]],
    )
    base = live_server.url
    admin_login(page, base, "root", "root-pw-123")
    page.goto(f"{base}/admin/intercom_identity/platformconfig/overview/")
    development = page.locator(".intercom-workspace[data-environment=development]")
    assert "not synced yet" in development.inner_text()
    # Connected (it has a token) but never synced: that alone is a finding.
    assert development.locator(".intercom-drift li.warning").get_attribute("data-code") == "sync_stale"

    with page.expect_navigation():
        development.locator("input[type=submit][value='Sync with Intercom']").click()

    assert "1 drift finding(s)" in page.inner_text(".messagelist")
    development = page.locator(".intercom-workspace[data-environment=development]")
    banner = development.locator(".intercom-drift li.warning")
    assert banner.count() == 1
    assert banner.get_attribute("data-code") == "intercom_enforces_unrecorded"
    assert banner.is_visible()
    assert "no platform here is 'enforced'" in banner.inner_text()
    assert "enforced" in development.locator(".identity-verification").inner_text()
    page.click(".intercom-timeline[data-environment=development] summary")
    assert "Intercom" in page.locator(".intercom-timeline[data-environment=development] tr.from-intercom").inner_text()
    intercom.assert_sent_by_the_sdk(TOKENS["development"], "/me", "/admins/activity_logs")
    screenshot(page, "workspace")
    assert TOKENS["development"] not in page.content()

    # Enforcing iOS in the app: the confirmation page shows the finding too.
    click_and_wait(page, "table[data-environment=development] tr[data-platform=ios] a.button:has-text('enforced')")
    assert page.locator(".intercom-drift li[data-code=intercom_enforces_unrecorded]").count() == 1

"""Every page of the app's admin and the two demo pages fit a laptop screen.

At 1280 x 900 (a common laptop) and 1024 x 900, in the admin's light and dark themes: the
document is no wider than the window, and no table is wider than the box it sits in (a
changelist that scrolls inside its box hides columns just the same). Version lists and the
history are opened first, as a reader would. The run at 1280 in the light theme saves the
screenshots the documentation shows.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from intercom_identity.models import (
    Environment,
    PlatformConfig,
    RolloutPhase,
    WorkspaceEvent,
    WorkspaceSnapshot,
)
from tests.browser.helpers import admin_login, adoption_history, click_and_wait, screenshot
from tests.helpers import SECRETS, configure, forced_enforcement

pytestmark = pytest.mark.django_db(transaction=True)

LONG_REASON = (
    "QA devices only: build 1.4.2 is installed on the internal test phones of the support team and "
    "on no customer device, see ticket OPS-1234; overriding the guard for the launch rehearsal"
)
# What is measured on each page: the document's width, and every visible table against its box.
MEASURE = """() => {
  const tables = [...document.querySelectorAll("table")].filter((t) => t.offsetParent !== null);
  // A block of text (the JSON with a 64-character hash, a result panel) must wrap inside its box.
  const boxes = [...document.querySelectorAll("pre, #result, .intercom-result")].filter((b) => b.offsetParent !== null);
  return {
    spilling: boxes.filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => `${b.id || b.className}`),
    theme: document.documentElement.dataset.theme || null,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    overflowing: tables
      .filter((t) => t.offsetWidth > t.parentElement.clientWidth + 1
                  || t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1)
      .map((t) => `${t.id || t.className || t.parentElement.className}: `
                + `${t.offsetWidth} px in ${t.parentElement.clientWidth} px`),
  };
}"""


def pk(env: str, platform: str) -> int:
    return PlatformConfig.objects.get(environment__slug=env, platform=platform).pk


@pytest.fixture
def product(db: None) -> dict[str, Any]:
    """An install in mid-rollout: development sending with adoption history, production partly
    set up, a forced change with a long reason, and a workspace that disagrees."""
    get_user_model().objects.create_superuser("root", "root@example.com", "root-pw-123")
    get_user_model().objects.create_user("admin", "admin@example.com", "admin")  # the demo mobile app's login
    Environment.objects.filter(slug="development").update(app_id="devapp01")
    for platform in ("ios", "android", "web"):
        configure("development", platform, RolloutPhase.SENDING)
    configure("production", "ios")
    adoption_history("ios", users=7, sending=6)
    adoption_history("android", users=4, sending=4)
    ios = PlatformConfig.objects.select_related("environment").get(pk=pk("development", "ios"))
    event = forced_enforcement(LONG_REASON)
    development = Environment.objects.get(slug="development")
    WorkspaceSnapshot.objects.create(
        environment=development,
        fetched_at=timezone.now(),
        attempted_at=timezone.now(),
        identity_verification=True,
        app_id_code="devapp02",
        app_name="Acme (test)",
        region="US",
    )
    WorkspaceEvent.objects.create(
        environment=development,
        intercom_id="301",
        activity_type="app_identity_verification_change",
        created_at=timezone.now() - timedelta(hours=1),
        performed_by="john@example.com",
        description="Enforced identity verification for the web messenger and the mobile SDKs",
    )
    return {"ios": ios, "event": event}


@pytest.fixture(
    params=[("light", 1280), ("dark", 1280), ("light", 1024), ("dark", 1024)], ids=lambda p: f"{p[0]}-{p[1]}"
)
def screen(request: Any, browser: Any) -> Iterator[tuple[Any, str, int]]:
    """A page in the admin theme ``theme`` (Django's toggle keeps it in localStorage) at ``width`` x 900."""
    theme, width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=theme)
    context.add_init_script(f"window.localStorage.setItem('theme', '{theme}')")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, theme, width
    context.close()


def check_fits(page: Any, what: str, theme: str, *, admin: bool = True) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    found = page.evaluate(MEASURE)
    if admin:
        assert found["theme"] == theme, what  # the admin theme really applied
    assert found["scrollWidth"] <= found["innerWidth"], f"{what}: {found['scrollWidth']} px in {found['innerWidth']}"
    assert found["overflowing"] == [], what
    assert found["spilling"] == [], what


def test_every_page_fits(screen: tuple[Any, str, int], live_server: Any, product: dict[str, Any]) -> None:
    page, theme, width = screen
    base = live_server.url
    shots = theme == "light" and width == 1280
    admin_login(page, base, "root", "root-pw-123")
    ios, event = product["ios"], product["event"]
    development = Environment.objects.get(slug="development")
    admin = f"{base}/admin/intercom_identity"
    pages: list[tuple[str, str, str | None]] = [
        ("platform configurations", f"{admin}/platformconfig/", "platform-configurations"),
        ("a configuration", f"{admin}/platformconfig/{ios.pk}/change/", "configuration"),
        ("a configuration with no secret", f"{admin}/platformconfig/{pk('production', 'web')}/change/", None),
        ("environments", f"{admin}/environment/", None),
        ("an environment", f"{admin}/environment/{development.pk}/change/", None),
        ("audit events", f"{admin}/auditevent/", "audit-trail"),
        ("an audit event", f"{admin}/auditevent/{event.pk}/change/", None),
        ("the overview", f"{admin}/platformconfig/overview/", "overview-expanded"),
        ("the guard", f"{admin}/platformconfig/{ios.pk}/transition/?to=phase:enforced", None),
        ("the check page", f"{admin}/platformconfig/check/", None),
        ("the admin index", f"{base}/admin/", None),
    ]
    for what, url, shot in pages:
        page.goto(url)
        check_fits(page, what, theme)
        if shots and shot:
            screenshot(page, shot)
    if theme == "dark" and width == 1280:
        page.goto(f"{admin}/platformconfig/overview/")
        check_fits(page, "the overview", theme)
        screenshot(page, "overview-dark")

    # A list action mixing a row that cannot move (no secret) into a change: blockers, no form.
    page.goto(f"{admin}/platformconfig/")
    for config in (ios.pk, pk("production", "web")):
        page.check(f"input[name=_selected_action][value='{config}']")
    page.select_option("select[name=action]", "move_to_sending")
    click_and_wait(page, "button[name=index]")
    assert page.locator("#blockers").is_visible()
    assert page.locator("textarea[name=reason]").count() == 0
    check_fits(page, "a mixed selection", theme)
    if shots:
        screenshot(page, "mixed-selection")

    # The check page with a valid result, then with a failure.
    for what, user_hash, shot in (
        (
            "a valid check",
            hmac.new(SECRETS[("development", "ios")].encode(), b"42", hashlib.sha256).hexdigest(),
            "check-valid",
        ),
        ("a failed check", "ab" * 32, "check-mismatch"),
    ):
        page.goto(f"{admin}/platformconfig/check/")
        page.select_option("#id_environment", "development")
        page.select_option("#id_platform", "ios")
        page.fill("#id_user_id", "42")
        page.fill("#id_user_hash", user_hash)
        click_and_wait(page, "input[type=submit][value=Check]")
        assert page.locator("#check-result").is_visible()
        check_fits(page, what, theme)
        if shots:
            screenshot(page, shot)

    # The demo's two pages: home signed in (the settings block holds a 64-character hash), and
    # the mobile app after a login, its JSON answer shown.
    page.goto(f"{base}/")
    check_fits(page, "the demo home page", theme, admin=False)
    if shots:
        screenshot(page, "demo-home")
    page.goto(f"{base}/mobile/")
    page.click("button[type=submit]")
    page.wait_for_function("() => document.getElementById('result').textContent.length > 0")
    check_fits(page, "the demo mobile app", theme, admin=False)
    if shots:
        screenshot(page, "demo-mobile")


def test_the_demo_pages_share_one_stylesheet(page: Any, live_server: Any, product: dict[str, Any]) -> None:
    for path in ("/", "/mobile/"):
        page.goto(live_server.url + path)
        sheets = page.evaluate("() => [...document.styleSheets].map((s) => s.href && new URL(s.href).pathname)")
        assert "/static/project/demo.css" in sheets, path
        assert page.evaluate("() => getComputedStyle(document.body).fontFamily") != "Times New Roman"

"""The demo site in a real browser: the messenger settings, escaping, and the demo mobile app."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from intercom_identity.models import Environment, RolloutPhase
from tests.browser.helpers import log_in_browser
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "</script><script>alert(1)</script>"


def hmac_hex(secret: str, message: str) -> str:
    """Computed here with the standard library, independently of the app's own hashing code."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def web_sending(db: None) -> None:
    Environment.objects.filter(slug="development").update(app_id="demo_app")
    configure("development", "web", RolloutPhase.SENDING)


def settings_in(page: Any) -> Any:
    return page.evaluate("() => window.intercomSettings")


def test_logged_in_user_boots_with_the_right_web_hash(page: Any, live_server: Any, web_sending: None) -> None:
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw")
    log_in_browser(page, live_server, user)
    page.goto(live_server.url + "/")
    settings = settings_in(page)
    assert settings["app_id"] == "demo_app"
    assert settings["user_id"] == str(user.pk)
    assert settings["user_hash"] == hmac_hex(SECRETS[("development", "web")], str(user.pk))
    assert settings["user_hash"] != hmac_hex(SECRETS[("development", "ios")], str(user.pk))


def test_anonymous_visitor_gets_no_identity(page: Any, live_server: Any, web_sending: None) -> None:
    page.goto(live_server.url + "/")
    assert settings_in(page) == {"app_id": "demo_app"}


def test_markup_in_name_and_email_runs_nothing(page: Any, live_server: Any, web_sending: None) -> None:
    user = get_user_model().objects.create_user("mallory", XSS + "@example.com", "pw", first_name=XSS, last_name=XSS)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in_browser(page, live_server, user)
    page.goto(live_server.url + "/")
    page.wait_for_load_state("load")
    assert dialogs == []
    settings = settings_in(page)
    assert settings["email"] == XSS + "@example.com"
    assert settings["name"] == f"{XSS} {XSS}"
    assert settings["user_hash"] == hmac_hex(SECRETS[("development", "web")], str(user.pk))


@pytest.mark.parametrize(
    ("bug", "expected"),
    [("", "Verified by user_id"), ("uppercase", "uppercase_hex"), ("drop", "missing_credential")],
)
def test_demo_mobile_app_logs_in_and_verifies(page: Any, live_server: Any, bug: str, expected: str) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    get_user_model().objects.create_user("admin", "admin@example.com", "admin")
    page.goto(live_server.url + "/mobile/")
    page.select_option("select[name=platform]", "ios")
    page.select_option("select[name=bug]", bug)
    page.click("button[type=submit]")
    result = page.locator("#result")
    result.wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('result').textContent.length > 0")
    assert expected in result.inner_text()
    assert ("ok" in (result.get_attribute("class") or "")) == (bug == "")

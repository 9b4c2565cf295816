"""What the browser tests share: logging in, clicking through, and the screenshots for the README."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from intercom_identity._internal.configcache import get_serving_config
from intercom_identity.rollout.activity import record, record_client

# Written where git does not look (build/ is ignored), so that a test run leaves the checkout clean;
# `make screenshots` runs the browser tests and copies them to docs/screenshots/ for the README.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot under build/screenshots/ (``make screenshots`` publishes them for the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def admin_login(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    click_and_wait(page, "input[type=submit]")


def click_and_wait(page: Any, selector: str) -> None:
    """Click something that loads a new page, and wait until that page has loaded."""
    with page.expect_navigation():
        page.click(selector)


def adoption_history(platform: str, *, users: int, sending: int, days: int = 12) -> None:
    """``users`` app users over ``days`` days, ``sending`` of whom end on a credential-sending version."""
    model = get_user_model()
    now = timezone.now()
    for n in range(users):
        person = model.objects.create_user(f"{platform}-user-{n}", f"{platform}{n}@example.com", "pw")
        for day in range(days, -1, -1):
            upgraded = n < sending and (days - day) >= n
            moment = now - timedelta(days=day)
            if upgraded:  # as serve_identity records a credential it hands out
                record(get_serving_config(platform, "development"), person, "2.0.0", sent_credential=True, now=moment)
            else:
                record_client(person, platform, "1.4.2", environment="development", now=moment)


def log_in_browser(page: Any, live_server: Any, user: Any) -> None:
    """Give the browser the session of ``user`` (made with the test client's login)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

"""Browser tests: Playwright for Python driving Debian's Chromium against Django's live server.

Playwright cannot download its own browser here, so it is pointed at /usr/bin/chromium
(``CHROMIUM`` overrides). Without Chromium every test in this folder is skipped with a
message saying how to install it (``apt-get install -y chromium``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {CHROMIUM}: browser tests skipped (apt-get install -y chromium)"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for this folder's tests, closed after them: Playwright's sync API keeps an event
    loop running in the test thread while it is open, which the other tests must not inherit
    (``async_to_sync`` refuses to run there, and Django would take them for async code)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # a common laptop
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="package", autouse=True)
def blocking_calls_allowed() -> Iterator[None]:
    """Playwright's event loop runs in the test thread; the tests' own database calls (and the
    flush after each) are ordinary blocking ones, which Django would otherwise refuse there. Only
    in this folder: elsewhere a blocking call from async code must stay an error the tests see."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def default_environments(transactional_db: None) -> None:
    """The live server needs real commits, so these tests flush the database after each one,
    and with it the environments the data migration created: put them back."""
    from intercom_identity.models import Environment

    for slug, label, is_production in (
        ("development", "Development / test", False),
        ("production", "Production", True),
    ):
        Environment.objects.get_or_create(slug=slug, defaults={"label": label, "is_production": is_production})

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from intercom_identity._internal import crypto
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from intercom_identity.receivers import forget_process_state
from tests import leakguard
from tests.helpers import SECRETS, configure
from tests.intercom_fake import intercom  # noqa: F401 - the fixture of the workspace tests

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def _learn_stored_secrets() -> Iterator[None]:
    """Every plaintext the suite encrypts becomes a secret the leak guard looks for."""
    original = crypto.encrypt

    def encrypt(plaintext: str) -> str:
        leakguard.remember_secret(plaintext)
        return original(plaintext)

    crypto.encrypt = encrypt  # type: ignore[assignment]
    for secret in SECRETS.values():
        leakguard.remember_secret(secret)
    yield
    crypto.encrypt = original  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters, the configuration version and recordings live in the cache, the
    configuration copies, recordings, the cache's circuit and outages in the process too: every
    test starts with none."""
    cache.clear()
    forget_process_state()
    yield
    cache.clear()
    forget_process_state()


@pytest.fixture(autouse=True)
def _no_secret_in_outputs() -> Iterator[None]:
    leakguard.recorded.clear()
    yield
    leaks = leakguard.find_leaks(leakguard.recorded, leakguard.known_secrets)
    leakguard.recorded.clear()
    if leaks:
        pytest.fail(f"A stored secret appeared in: {sorted(set(leaks))}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Captured stdout/stderr of a test must not contain a stored secret either."""
    report = yield
    leaking = [title for title, text in report.sections if leakguard.find_leaks([("", text)], leakguard.known_secrets)]
    if leaking:
        # Fail the test, and do not print the secret while saying so.
        report.sections = [
            (t, "(withheld: contains a stored secret)" if t in leaking else text) for t, text in report.sections
        ]
        report.outcome = "failed"
        report.longrepr = f"A stored secret appeared in the test's output: {', '.join(leaking)}."
    return report


@pytest.fixture
def clock(monkeypatch: Any) -> list[float]:
    """The monotonic clock the configuration copies, the cache's circuit and outages go by, moved by hand."""
    now = [time.monotonic()]  # not before what the set-up already read
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def today(monkeypatch: Any, settings: Any) -> Callable[[str], None]:
    """Pin the calendar (``timezone.now``) to noon UTC of a day, with Intercom's deadline set back on
    (tests/settings.py turns it off so the real date decides no other test) and production served."""
    from datetime import datetime, timezone

    from django.utils import timezone as django_timezone

    settings.INTERCOM_IDENTITY_DEADLINE = "2027-01-31"
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = ["production"]  # the deadline judges served ones only

    def pin(day: str) -> None:
        moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)
        monkeypatch.setattr(django_timezone, "now", lambda: moment)

    pin("2026-12-07")  # the day the reminders went live: 55 days before
    return pin


@pytest.fixture
def vectors() -> list[dict[str, str]]:
    return json.loads((DATA / "hmac_sha256.json").read_text("utf-8"))["vectors"]  # type: ignore[no-any-return]


@pytest.fixture
def all_secrets(db: None) -> dict[tuple[str, str], PlatformConfig]:
    """Every pair has its secret stored; development is 'sending', production 'off'."""
    return {
        (env, platform): configure(env, platform, RolloutPhase.SENDING if env == "development" else None)
        for env, platform in SECRETS
    }


@pytest.fixture
def user(db: None) -> Any:
    return get_user_model().objects.create_user("jane", "jane+beta@example.com", "pw-jane-123")


@pytest.fixture
def user_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def production(db: None) -> Environment:
    return Environment.objects.get(slug="production")


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Call a function as if its transaction committed (its on-commit callbacks run)."""

    def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


@pytest.fixture
def sending_app_id(db: None) -> str:
    """The development environment's app ID, with the web sending its credential."""
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "web", RolloutPhase.SENDING)
    return "abc123"

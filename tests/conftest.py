from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from intercom_identity._internal import crypto
from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase
from intercom_identity.receivers import forget_process_state
from intercom_identity.rollout.activity import record_client
from intercom_identity.rollout.changes import change_phase, store_secret
from intercom_identity.selectors import get_platform_config
from tests import leakguard
from tests.intercom_fake import intercom  # noqa: F401 - the fixture of the workspace tests

DATA = Path(__file__).parent / "data"

# Distinct, realistic-looking secrets per environment and platform.
SECRETS = {
    ("development", "ios"): "dev-ios-0123456789abcdef0123456789abcdef0123",
    ("development", "android"): "dev-android-fedcba9876543210fedcba98765432",
    ("development", "web"): "dev-web-00112233445566778899aabbccddeeff0011",
    ("production", "ios"): "prod-ios-aa11bb22cc33dd44ee55ff6677889900aabb",
    ("production", "android"): "prod-android-99887766554433221100ffeeddccbb",
    ("production", "web"): "prod-web-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e",
}


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
def vectors() -> list[dict[str, str]]:
    return json.loads((DATA / "hmac_sha256.json").read_text("utf-8"))["vectors"]  # type: ignore[no-any-return]


def configure(env: str, platform: str, phase: RolloutPhase | None = None, secret: str | None = None) -> PlatformConfig:
    """Store a secret (the default one for the pair) and move to ``phase``."""
    config = get_platform_config(platform, env)
    store_secret(config, secret or SECRETS[(env, platform)])
    if phase is not None:
        # Test set-up, not a rollout: the adoption guard is tested on its own.
        change_phase(config, phase, force=True, reason="test set-up")
    return config


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


def make_ready(env: str, platform: str, *, users: int = 1, version: str = "2.0") -> None:
    """Record ``users`` active users on a credential-sending version, so adoption is 100%."""
    model = get_user_model()
    for n in range(users):
        client_user = model.objects.create_user(f"ready-{env}-{platform}-{version}-{n}", f"r{n}@example.com", "pw")
        record_client(client_user, platform, version, sent_credential=True, environment=env)


def staff_client(username: str, *codenames: str) -> Client:
    """A logged-in staff user holding only the named intercom_identity permissions."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="intercom_identity", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def users(count: int, prefix: str = "u") -> list[Any]:
    """``count`` new users named ``<prefix>0``, ``<prefix>1``..."""
    model = get_user_model()
    return [model.objects.create_user(f"{prefix}{n}", f"{prefix}{n}@example.com", "pw") for n in range(count)]


def ios() -> PlatformConfig:
    """The development iOS configuration as stored now."""
    return PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")


def seen(user: Any, version: str, *, sent: bool, at: Any = None, platform: str = "ios") -> bool:
    """``record_client`` in the development environment."""
    return record_client(user, platform, version, sent_credential=sent, environment="development", now=at)


def below_threshold() -> PlatformConfig:
    """iOS sending, with 1 of 4 active users on a sending version."""
    config = configure("development", "ios", RolloutPhase.SENDING)
    people = users(4, "g")
    for person in people[:3]:
        seen(person, "1.0", sent=False)
    seen(people[3], "2.0", sent=True)
    return config


def run(*args: str, stdin: str | None = None) -> str:
    """``manage.py intercom_identity ARGS``; returns what it printed (stderr is kept apart)."""
    out = io.StringIO()
    kwargs: dict[str, Any] = {"stdout": out, "stderr": io.StringIO()}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("intercom_identity", *args, **kwargs)
    return out.getvalue()


def forced_enforcement(reason: str = "QA devices only", ratio: float | None = 6 / 7) -> AuditEvent:
    """An audit event of development iOS forced into ``enforced`` at ``ratio`` (6 of 7 by default:
    85.7%, a ratio with a long decimal expansion)."""
    return AuditEvent.objects.create(
        actor_label="ops",
        environment="development",
        platform="ios",
        kind=AuditEvent.Kind.PHASE,
        from_value="sending",
        to_value="enforced",
        adoption_ratio=ratio,
        forced=True,
        reason=reason,
    )

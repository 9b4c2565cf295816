"""Faults: the database down, the cache down (Redis stopped), a wrong key, concurrent changes."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client, override_settings

from intercom_identity import compute_user_hash
from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase
from intercom_identity.rollout.changes import change_phase
from tests.helpers import CLOSED_REDIS, SECRETS, configure, database_down, render, settings_of
from tests.localservices import REDIS, reachable, redis_cache

URL = "/intercom/user-hash/"
LIVE_REDIS = redis_cache("suite")


@pytest.fixture
def web_ready(db: None) -> None:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "web", RolloutPhase.SENDING)
    configure("development", "ios", RolloutPhase.SENDING)


# --- the database is down ------------------------------------------------------------


@pytest.mark.django_db
def test_json_view_answers_503_json_when_the_database_is_down(web_ready: None, user: Any) -> None:
    client = Client()
    client.force_login(user)
    with connection.execute_wrapper(database_down):
        response = client.get(URL, {"platform": "ios"})
        verify = client.post("/intercom/verify/", {"platform": "ios"}, content_type="application/json")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert verify.status_code == 503
    assert verify.json()["error"] == "database_unavailable"


@pytest.mark.django_db
def test_template_tag_boots_without_identity_when_the_database_is_down(web_ready: None, user: Any, caplog: Any) -> None:
    assert settings_of(render(user))["user_hash"]  # a render that worked: the app id is known
    with connection.execute_wrapper(database_down):
        html = render(user)
    assert settings_of(html) == {"app_id": "abc123"}
    assert any(r.levelname == "ERROR" and "the database is unavailable" in r.getMessage() for r in caplog.records)


# --- the cache is down ---------------------------------------------------------------


@pytest.mark.django_db
def test_requests_are_served_from_the_database_when_redis_is_down(web_ready: None, user: Any) -> None:
    client = Client()
    client.force_login(user)
    with override_settings(CACHES=CLOSED_REDIS):
        response = client.get(URL, {"platform": "ios"}, headers={"X-App-Version": "2.0"})
        html = render(user)
    assert response.status_code == 200
    assert response.json()["user_hash"] == compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
    assert settings_of(html)["user_hash"] == compute_user_hash(SECRETS[("development", "web")], user_id=str(user.pk))
    from intercom_identity.models import ClientActivity

    assert ClientActivity.objects.filter(user=user, version="2.0").exists()  # recorded, written through


@pytest.mark.skipif(not reachable(REDIS, timeout=0.5), reason="Redis is not running on 127.0.0.1:6379")
@pytest.mark.django_db
def test_rate_limit_is_shared_through_redis(web_ready: None, user: Any) -> None:
    client = Client()
    client.force_login(user)
    with override_settings(CACHES=LIVE_REDIS, INTERCOM_IDENTITY_HASH_RATE_LIMIT=3):
        from django.core.cache import cache

        cache.clear()
        statuses = [client.get(URL, {"platform": "ios"}).status_code for _ in range(4)]
        other_user = Client()
        other_user.force_login(type(user).objects.create_user("other", "o@example.com", "pw"))
        same_address = other_user.get(URL, {"platform": "ios"})
        cache.clear()
    assert statuses == [200, 200, 200, 429]
    assert same_address.status_code == 200  # another user behind the same address: a bucket of its own


# --- a wrong key ---------------------------------------------------------------------

WRONG_KEY = ["1LT2pD6uQ7dsJ3s7W8vS4lq0cE_FJhb0Z9Xk2f2Wc5o="]


@pytest.mark.django_db
def test_wrong_key_is_a_clear_error_never_a_wrong_hash(web_ready: None, user: Any) -> None:
    client = Client()
    client.force_login(user)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=WRONG_KEY):
        response = client.get(URL, {"platform": "ios"})
        with pytest.raises(CommandError, match="cannot be decrypted"):
            call_command("intercom_identity", "hash", "development", "ios", "--user-id", "1", stdout=io.StringIO())
    assert response.status_code == 503
    assert "user_hash" not in response.json()


# --- concurrent changes (PostgreSQL) -------------------------------------------------


def in_threads(count: int, work: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (run with DATABASE_URL=postgres://...)")


CHANGE_IN_A_PROCESS = """
import sys, django
django.setup()
from intercom_identity.models import PlatformConfig
from intercom_identity.rollout.changes import change_phase, set_min_sending_version
config = PlatformConfig.objects.get(pk=int(sys.argv[1]))
if sys.argv[2] == "phase":
    change_phase(config, sys.argv[3])
else:
    set_min_sending_version(config, sys.argv[3])
"""


def run_in_processes(config: PlatformConfig, field: str, values: list[str]) -> None:
    """One process per value, all changing ``config`` at once, as several servers would."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    root = Path(__file__).resolve().parent.parent
    processes = [
        subprocess.Popen([sys.executable, "-c", CHANGE_IN_A_PROCESS, str(config.pk), field, value], cwd=root, env=env)
        for value in values
    ]
    assert [process.wait(timeout=120) for process in processes] == [0] * len(values)


@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_from_several_processes_are_applied_and_audited_once(postgres_only: None) -> None:
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    config = configure("development", "ios")
    versions = [f"1.{n}" for n in range(6)]
    run_in_processes(config, "min_sending_version", versions)
    events = list(AuditEvent.objects.filter(kind="min_sending_version").order_by("id"))
    assert sorted(e.to_value for e in events) == versions  # every change, once
    # No lost update: each change starts from the value the previous one left.
    assert [e.from_value for e in events] == ["", *[e.to_value for e in events[:-1]]]
    config.refresh_from_db()
    assert config.min_sending_version == events[-1].to_value


@pytest.mark.django_db(transaction=True)
def test_concurrent_phase_changes_from_several_processes(postgres_only: None) -> None:
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    config = configure("development", "web")
    run_in_processes(config, "phase", ["sending", "off"] * 3)
    events = list(AuditEvent.objects.filter(kind="phase").order_by("id"))
    assert all(e.from_value != e.to_value for e in events)  # only real changes are recorded
    assert [e.from_value for e in events] == ["off", *[e.to_value for e in events[:-1]]]  # none lost
    config.refresh_from_db()
    assert config.phase == (events[-1].to_value if events else "off")


@pytest.mark.django_db(transaction=True)
def test_concurrent_phase_changes_from_several_threads(postgres_only: None) -> None:
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    config = configure("development", "web")
    targets = [RolloutPhase.SENDING, RolloutPhase.OFF] * 4
    errors = in_threads(len(targets), lambda n: change_phase(PlatformConfig.objects.get(pk=config.pk), targets[n]))
    assert errors == []
    events = list(AuditEvent.objects.filter(kind="phase").order_by("id"))
    assert all(e.from_value != e.to_value for e in events)
    assert [e.from_value for e in events] == ["off", *[e.to_value for e in events[:-1]]]
    config.refresh_from_db()
    assert config.phase == (events[-1].to_value if events else "off")

"""Recording (activity.py): rows and tallies stay exact, writes are spared, bad input is ignored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from intercom_identity import activity, record_client
from intercom_identity.adoption import adoption
from intercom_identity.maintenance import recount
from intercom_identity.models import (
    ClientActivity,
    DailyActivity,
    RolloutPhase,
    VersionTally,
)
from tests.conftest import configure, ios, seen, users

pytestmark = pytest.mark.django_db


def test_tallies_match_a_recount_after_any_sequence() -> None:
    """Versions switched within a day and across days, late reports, deleted users: still exact."""
    import random

    rng = random.Random(7)
    people = users(12, "r")
    start = timezone.now() - timedelta(days=20)
    for step in range(300):
        person = rng.choice(people)
        at = start + timedelta(hours=rng.randrange(0, 20 * 24))
        cache.clear()  # every report writes: the hardest case for exactness
        record_client(
            person,
            rng.choice(["ios", "android"]),
            rng.choice(["1.0", "1.1", "2.0"]),
            sent_credential=rng.random() < 0.5,
            environment="development",
            now=at,
        )
        if step == 150:
            people.pop().delete()  # its activity rows cascade
    before = {
        (t.environment_id, t.platform, t.kind, t.day, t.version): t.users
        for t in VersionTally.objects.filter(users__gt=0)
    }
    recount()
    after = {(t.environment_id, t.platform, t.kind, t.day, t.version): t.users for t in VersionTally.objects.all()}
    assert before == after
    assert sum(u for (_e, p, kind, _d, _v), u in after.items() if kind == "latest" and p == "ios") == (
        ClientActivity.objects.filter(platform="ios").count()
    )


def test_a_late_report_does_not_replace_a_newer_one() -> None:
    (person,) = users(1)
    now = timezone.now()
    seen(person, "2.0", sent=True, at=now)
    seen(person, "1.0", sent=False, at=now - timedelta(days=2))
    assert [(s.version, s.users) for s in adoption(ios(), now=now).versions] == [("2.0", 1)]
    two_days_ago = {p.day: p for p in adoption(ios(), now=now).daily}[(now - timedelta(days=2)).date()]
    assert two_days_ago.active_users == 1  # but it does count for the day it happened


def test_at_most_one_write_per_user_version_and_hour(
    django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    (person,) = users(1)
    now = timezone.now().replace(minute=5)

    def committed(version: str, at: Any) -> bool:
        with django_capture_on_commit_callbacks(execute=True):  # as if each request committed
            return seen(person, version, sent=False, at=at)

    assert committed("2.0", now)
    with django_assert_num_queries(0):  # the configuration is the process copy; the cache says "written"
        assert not committed("2.0", now + timedelta(minutes=30))
    assert committed("2.1", now + timedelta(minutes=31))  # a new version writes
    assert committed("2.1", now + timedelta(hours=1))  # so does a new hour
    assert ClientActivity.objects.count() == 1
    assert ClientActivity.objects.get().version == "2.1"


def test_a_process_remembers_its_recordings_without_asking_the_cache(
    django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from django.core.cache import cache

    (person,) = users(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert seen(person, "3.0", sent=True)
    asked: list[Any] = []
    real_get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys, *a: asked.append(keys) or real_get_many(keys, *a))
    assert not seen(person, "3.0", sent=True)
    assert asked == [], "steady state: no cache round trip"
    activity.forget_recordings()  # another process: it asks the cache, which remembers
    assert not seen(person, "3.0", sent=True)
    assert len(asked) == 1


def test_a_rolled_back_recording_is_not_remembered(django_capture_on_commit_callbacks: Any) -> None:

    (person,) = users(1)

    def record_then_fail() -> None:
        with transaction.atomic():
            seen(person, "2.0", sent=True)
            raise RuntimeError("the view failed after recording")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        record_then_fail()
    assert not ClientActivity.objects.exists()
    assert seen(person, "2.0", sent=True)  # written again, not skipped as "seen"
    assert adoption(ios()).ratio == 1.0


def test_deleting_an_environment_with_activity() -> None:
    from intercom_identity.models import Environment

    staging = Environment.objects.create(slug="staging", label="Staging")
    (person,) = users(1)
    record_client(person, "ios", "1.0", sent_credential=False, environment="staging")
    staging.delete()
    assert not VersionTally.objects.filter(environment_id=staging.pk).exists()


def test_counts_stay_exact_when_the_cache_forgets() -> None:
    people = users(2)
    for _ in range(3):
        cache.clear()
        for person in people:
            seen(person, "2.0", sent=True)
    assert ClientActivity.objects.count() == 2
    assert DailyActivity.objects.count() == 2
    assert adoption(ios()).active_users == 2


@pytest.mark.parametrize("version", [None, "", "   ", "x" * 65, "1.0\n2", "\x00"])
def test_bad_versions_are_ignored(version: str | None) -> None:
    (person,) = users(1)
    assert not record_client(person, "ios", version, sent_credential=True)
    assert ClientActivity.objects.count() == 0


def test_anonymous_and_unknown_platform_are_ignored() -> None:
    from django.contrib.auth.models import AnonymousUser

    (person,) = users(1)
    assert not record_client(AnonymousUser(), "ios", "1.0", sent_credential=False)
    assert not record_client(person, "tv", "1.0", sent_credential=False)


def test_json_view_records_the_app_version(user_client: Client, user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    user_client.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-App-Version": "3.1.0"})
    activity = ClientActivity.objects.get(user=user)
    assert (activity.platform, activity.version, activity.sent_credential) == ("ios", "3.1.0", True)
    assert adoption(ios()).ratio == 1.0


def test_json_view_without_version_header_records_nothing(user_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    user_client.get("/intercom/user-hash/", {"platform": "ios"})
    assert not ClientActivity.objects.exists()


def test_demo_login_counts_old_versions_without_credential(client: Client, user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    body = {"username": "jane", "password": "pw-jane-123", "platform": "ios"}
    old = client.post("/api/login/", body, content_type="application/json", headers={"X-App-Version": "1.0"})
    assert "intercom" not in old.json()
    assert adoption(ios()).ratio == 0.0
    new = client.post(
        "/api/login/", {**body, "intercom": True}, content_type="application/json", headers={"X-App-Version": "2.0"}
    )
    assert new.json()["intercom"]["user_hash"]
    assert adoption(ios()).ratio == 1.0

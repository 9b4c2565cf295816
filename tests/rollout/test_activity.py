"""Recording (activity.py): rows and tallies stay exact, writes are spared, bad input is ignored."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from intercom_identity import record_client
from intercom_identity._internal.configcache import get_serving_config
from intercom_identity.management.tallies import recount
from intercom_identity.models import (
    AppVersion,
    ClientActivity,
    DailyActivity,
    RolloutPhase,
    VersionTally,
)
from intercom_identity.rollout import activity
from intercom_identity.rollout.activity import forget_user
from intercom_identity.rollout.adoption import adoption
from tests.helpers import configure, ios, run, seen, users

pytestmark = pytest.mark.django_db


def test_tallies_match_a_recount_after_any_sequence() -> None:
    """Versions switched within a day and across days, credentials or not, late reports, deleted
    users: users and credential users still exact."""
    import random

    rng = random.Random(7)
    people = users(12, "r")
    start = timezone.now() - timedelta(days=20)
    for step in range(300):
        person = rng.choice(people)
        at = start + timedelta(hours=rng.randrange(0, 20 * 24))
        cache.clear()  # every report writes: the hardest case for exactness
        seen(
            person,
            rng.choice(["1.0", "1.1", "2.0"]),
            sent=rng.random() < 0.5,
            at=at,
            platform=rng.choice(["ios", "android"]),
        )
        if step == 150:
            people.pop().delete()  # its activity rows cascade
    before = tallies()
    recount()
    after = tallies()
    assert before == after
    assert sum(u for (_e, p, kind, _d, _v), (u, _c) in after.items() if kind == "latest" and p == "ios") == (
        ClientActivity.objects.filter(platform="ios").count()
    )
    # Each day's credential users too: the web's trend counts them.
    assert sum(c for (_e, _p, kind, _d, _v), (_u, c) in after.items() if kind == "daily") == (
        DailyActivity.objects.filter(sent_credential=True).count()
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

    (person,) = users(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert seen(person, "3.0", sent=True)
    asked: list[Any] = []
    guard = activity.cache  # the app's guarded view of Django's cache: one call is one round trip
    real_get_many, real_get = guard.get_many, guard.get
    monkeypatch.setattr(guard, "get_many", lambda keys: asked.append(list(keys)) or real_get_many(keys))
    monkeypatch.setattr(guard, "get", lambda key, *a: asked.append([key]) or real_get(key, *a))
    assert not seen(person, "3.0", sent=True)
    # Steady state: one round trip, to ask whether another process recorded another version since.
    assert [key for keys in asked for key in keys] == [activity._latest_key(ios().environment_id, "ios", person.pk)]
    asked.clear()
    activity.forget_recordings()  # another process: it asks the cache, which remembers
    assert not seen(person, "3.0", sent=True)
    assert len(asked) == 2


@pytest.mark.parametrize("processes", ["one process", "two processes"])
def test_a_to_b_to_a_within_a_minute_ends_on_a(processes: str, django_capture_on_commit_callbacks: Any) -> None:
    """Two devices on different versions: the throttle must not skip the report that moves the user back."""
    (person,) = users(1)
    now = timezone.now().replace(minute=5, second=0)
    for offset, version in enumerate(["2.0.0", "1.4.2", "2.0.0"]):
        if processes == "two processes" and version == "1.4.2":
            activity.forget_recordings()  # B is recorded by another process than A's two reports
        with django_capture_on_commit_callbacks(execute=True):
            assert seen(person, version, sent=False, at=now + timedelta(seconds=20 * offset))
    assert ClientActivity.objects.get(user=person).version == "2.0.0"
    assert [(s.version, s.users) for s in adoption(ios(), now=now).versions] == [("2.0.0", 1)]
    with django_capture_on_commit_callbacks(execute=True):  # and the throttle still spares the repeat
        assert not seen(person, "2.0.0", sent=False, at=now + timedelta(seconds=59))


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
    record_client(person, "ios", "1.0", environment="staging")
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
    assert not record_client(person, "ios", version)
    assert ClientActivity.objects.count() == 0


def test_anonymous_and_unknown_platform_are_ignored() -> None:
    from django.contrib.auth.models import AnonymousUser

    (person,) = users(1)
    assert not record_client(AnonymousUser(), "ios", "1.0")
    assert not record_client(person, "tv", "1.0")


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


# --- What one account can add ---------------------------------------------------------


def test_two_hundred_new_versions_from_one_user_add_three(user_client: Client, user: Any, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_HASH_RATE_LIMIT = 0  # a flood the rate limit would cut short
    configure("development", "ios", RolloutPhase.SENDING)
    for n in range(200):
        response = user_client.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-App-Version": f"7.{n}"})
        assert response.status_code == 200  # still served
        assert response.json()["user_hash"]
    assert sorted(AppVersion.objects.values_list("version", flat=True)) == ["7.0", "7.1", "7.2"]
    assert AppVersion.objects.filter(first_reported_by=user).count() == 3
    assert VersionTally.objects.filter(users__gt=0).count() == 2  # the user's latest and daily tallies
    assert ClientActivity.objects.get(user=user).version == "7.2"


def test_the_allowance_is_per_day_and_only_for_versions_nobody_reported() -> None:
    flooder, other = users(2)
    today = timezone.now()
    for n in range(5):
        seen(flooder, f"3.{n}", sent=False, at=today)
    assert AppVersion.objects.count() == 3
    seen(other, "3.0", sent=False, at=today)  # a known version: always recorded
    seen(flooder, "3.0", sent=False, at=today)  # the flooder too may still use known versions
    assert ClientActivity.objects.get(user=flooder).version == "3.0"
    seen(other, "3.9", sent=False, at=today)  # another user has their own allowance
    assert AppVersion.objects.count() == 4
    seen(flooder, "4.0", sent=False, at=today + timedelta(days=1))  # a new day
    assert AppVersion.objects.filter(version="4.0").exists()
    assert_exact_tallies()


def test_a_flood_from_one_user_costs_no_query_once_recognised(
    django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    flooder, other = users(2)
    with django_capture_on_commit_callbacks(execute=True):  # as if each request committed
        for n in range(4):
            seen(flooder, f"3.{n}", sent=False)
        seen(other, "5.0", sent=False)
    with django_assert_num_queries(0):  # the rest of the flood: no query, no round trip
        for n in range(9, 100):
            assert not seen(flooder, f"3.{n}", sent=False)
    activity.forget_recordings()  # another process: the cache remembers the allowance is used up
    with django_assert_num_queries(1):  # "is 3.100 known?" (asked at most once a second)
        assert not seen(flooder, "3.100", sent=False)
    with django_assert_num_queries(0):
        assert not seen(flooder, "3.101", sent=False)
        assert not seen(flooder, "5.0", sent=False)  # a version this process does not know yet...
    assert AppVersion.objects.count() == 4
    clock = time.monotonic() + 1.5
    monkeypatch.setattr(activity.time, "monotonic", lambda: clock)
    with django_capture_on_commit_callbacks(execute=True):
        assert seen(flooder, "5.0", sent=False)  # ...but the database does: recorded a second later
    assert ClientActivity.objects.get(user=flooder).version == "5.0"


@pytest.mark.parametrize(
    "version", ["garbage!!", "v2.0", "2.0 beta", "2.0;drop", "1" * 65, "\u0661.0", "2.0/../x", "<script>", ".1"]
)
def test_versions_that_do_not_look_like_release_numbers_are_skipped(
    user_client: Client, version: str, caplog: Any
) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    with caplog.at_level(logging.DEBUG, logger="intercom_identity.activity"):
        response = user_client.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-App-Version": version})
    assert response.status_code == 200
    assert not AppVersion.objects.exists()
    assert not ClientActivity.objects.exists()
    assert not VersionTally.objects.exists()
    assert "Client version not recorded" in caplog.text
    assert all(record.levelno == logging.DEBUG for record in caplog.records if "not recorded" in record.message)


@pytest.mark.parametrize("version", ["5.2.0", "5.2.0-beta.1", "2024.11.3+build_7", "10", "1" * 64])
def test_release_numbers_are_recorded(version: str) -> None:
    (person,) = users(1)
    assert seen(person, version, sent=False)
    assert ClientActivity.objects.get().version == version


def test_reports_older_than_the_retention_are_not_recorded(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS = 30
    (person,) = users(1)
    now = timezone.now()
    assert not seen(person, "2.0", sent=True, at=now - timedelta(days=31))
    assert seen(person, "2.0", sent=True, at=now - timedelta(days=30))
    assert list(DailyActivity.objects.values_list("day", flat=True)) == [(now - timedelta(days=30)).date()]


# --- Erasure --------------------------------------------------------------------------


def tallies() -> dict[tuple[Any, ...], tuple[int, int]]:
    return {
        (t.environment_id, t.platform, t.kind, t.day, t.version): (t.users, t.credential_users)
        for t in VersionTally.objects.all()
        if t.users or t.credential_users
    }


def assert_exact_tallies() -> None:
    kept = tallies()
    recount()
    assert tallies() == kept


def long_history(person: Any, *, days: int, platform: str = "ios") -> None:
    """A long-lived user, active every day for ``days`` days and upgrading every hundred,
    written in bulk (as an import would) and the tallies recounted: recording it request by
    request would only be slower."""
    from intercom_identity.models import Environment

    scope = {"environment": Environment.objects.get(slug="development"), "platform": platform}
    today = timezone.now()
    version = {day: f"1.{(days - day) // 100}" for day in range(days + 1)}
    AppVersion.objects.bulk_create(
        [AppVersion(**scope, version=v, first_seen_at=today, first_reported_by=person) for v in set(version.values())],
        ignore_conflicts=True,
    )
    days = {d: (today - timedelta(days=d)).date() for d in version}
    DailyActivity.objects.bulk_create(
        # Handed the credential every other day: erasure must take the user out of those days' evidence too.
        [
            DailyActivity(**scope, user=person, day=days[d], version=version[d], sent_credential=d % 2 == 0)
            for d in version
        ]
    )
    ClientActivity.objects.create(**scope, user=person, version=version[0], sent_credential=True, last_seen_at=today)
    recount()


def test_deleting_a_user_with_years_of_activity_keeps_exact_tallies() -> None:
    leaving, newcomer, staying = users(3)
    long_history(leaving, days=730)
    long_history(leaving, platform="android", days=730)
    long_history(newcomer, days=2)
    long_history(newcomer, platform="android", days=2)
    long_history(staying, days=400)
    assert DailyActivity.objects.filter(user=leaving).count() == 2 * 731
    assert adoption(ios(), days=400).active_users == 3

    def queries_to_delete(person: Any) -> int:
        with CaptureQueriesContext(connection) as queries:
            person.delete()
        return len(queries)

    # Set-based: two years of rows cost the queries of two days (no per-row signal).
    assert queries_to_delete(leaving) == queries_to_delete(newcomer) < 25
    assert not DailyActivity.objects.filter(user_id__in=[leaving.pk, newcomer.pk]).exists()
    assert not ClientActivity.objects.filter(user_id__in=[leaving.pk, newcomer.pk]).exists()
    assert_exact_tallies()
    assert adoption(ios(), days=400).active_users == 1


def test_forget_user_erases_the_activity_but_not_the_user() -> None:
    forgotten, other = users(2)
    long_history(forgotten, days=200)
    seen(other, "1.0", sent=False)
    assert AppVersion.objects.filter(first_reported_by=forgotten).exists()
    assert forget_user(forgotten) == 201 + 1  # 201 daily rows and the latest one
    assert not DailyActivity.objects.filter(user=forgotten).exists()
    assert not ClientActivity.objects.filter(user=forgotten).exists()
    assert not AppVersion.objects.filter(first_reported_by=forgotten).exists()  # who introduced what, too
    forgotten.refresh_from_db()  # still there
    assert_exact_tallies()
    assert adoption(ios()).active_users == 1
    assert forget_user(forgotten) == 0  # nothing left: idempotent
    cache.clear()
    assert seen(forgotten, "1.0", sent=False)  # and recorded again when they come back


@pytest.mark.django_db(transaction=True)
def test_forgetting_a_user_while_they_record_keeps_exact_tallies() -> None:
    """PostgreSQL: the user's own requests race the erasure; no deadlock, nothing miscounted."""
    import threading

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (run with DATABASE_URL=postgres://...)")
    from intercom_identity.models import Environment

    # A transactional test empties the tables after it, the migrations' rows included.
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    person, other = users(2)
    seen(other, "1.0", sent=True)
    stop = threading.Event()
    failures: list[BaseException] = []

    def keep_recording(platform: str) -> None:
        try:
            n = 0
            while not stop.is_set():
                n += 1
                activity.forget_recordings()
                cache.clear()
                seen(person, f"1.{n % 4}", sent=n % 2 == 0, platform=platform)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=keep_recording, args=(platform,)) for platform in ("ios", "android", "web")]
    for thread in threads:
        thread.start()
    try:
        for _ in range(15):
            forget_user(person)  # a deadlock would raise here
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert_exact_tallies()
    person.delete()
    assert_exact_tallies()
    assert adoption(ios()).active_users == 1


def _daily_row_lookups(person: Any) -> list[str]:
    """The SQL of the queries that lock one user's daily rows while recording them."""
    cache.clear()
    activity.forget_recordings()
    with CaptureQueriesContext(connection) as queries:
        seen(person, "2.0", sent=True)
    table = DailyActivity._meta.db_table
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]


def test_the_daily_row_lock_has_no_ordering() -> None:
    """``filter().first()`` added ``ORDER BY id LIMIT 1``: with stale statistics PostgreSQL then
    walked every row of the day by primary key (benchmark 11). The lookup orders nothing."""
    (person,) = users(1, "plan")
    seen(person, "1.0", sent=False)  # the row exists: the next report locks it
    lookups = _daily_row_lookups(person)
    assert lookups, "the daily row was not looked up"
    assert all("ORDER BY" not in sql for sql in lookups), lookups


def test_the_daily_row_lock_uses_the_unique_index_on_postgresql() -> None:
    """PostgreSQL's plan for the lock: the unique index, no sort, no walk of the primary key,
    even when the planner is told scans by the primary key are free."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan shape is PostgreSQL's (run with DATABASE_URL=postgres://...)")
    (person,) = users(1, "plan")
    seen(person, "1.0", sent=False)
    lookup = _daily_row_lookups(person)[0]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is tiny: make the index the only choice
        cursor.execute("EXPLAIN " + lookup)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Sort" not in plan, plan
    assert "_pkey" not in plan, plan
    assert "Index Scan" in plan or "Index Only Scan" in plan or "Bitmap" in plan, plan


# --- only the server's own issuance is evidence ---------------------------------


def test_record_client_takes_no_claim_about_a_credential() -> None:
    (person,) = users(1)
    with pytest.raises(TypeError, match="sent_credential"):
        record_client(person, "ios", "2.0", sent_credential=True, environment="development")  # type: ignore[call-arg]
    assert record_client(person, "ios", "2.0", environment="development")
    activity = ClientActivity.objects.get(user=person)
    assert (activity.version, activity.sent_credential) == ("2.0", False)


def test_logins_cannot_declare_readiness(settings: Any) -> None:
    """Six logins while iOS is ``off``, then ``sending``: nobody was handed anything, so nothing is
    ready and enforcing is refused (the README's old example let a login view say otherwise)."""
    settings.INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS = 5
    configure("development", "ios", RolloutPhase.OFF)
    for person in users(6):
        record_client(person, "ios", "3.0", environment="development")
    configure("development", "ios", RolloutPhase.SENDING)
    numbers = adoption(ios())
    assert (numbers.active_users, numbers.ready_users) == (6, 0)
    with pytest.raises(CommandError, match="Refusing to enforce"):
        run("phase", "development", "ios", "enforced")


def test_serve_identity_records_what_it_handed_out() -> None:
    from intercom_identity import serve_identity

    configure("development", "ios", RolloutPhase.OFF)
    off_user, sending_user = users(2)
    assert serve_identity(off_user, "ios", "3.0")["user_hash"] is None
    configure("development", "ios", RolloutPhase.SENDING)
    assert serve_identity(sending_user, "ios", "3.0")["user_hash"]
    recorded = dict(ClientActivity.objects.values_list("user__username", "sent_credential"))
    assert recorded == {off_user.username: False, sending_user.username: True}


def test_a_tag_render_records_the_page_with_what_it_handed_out(sending_app_id: str) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    (person,) = users(1)
    request = RequestFactory().get("/")
    request.user = person
    Template("{% load intercom_identity %}{% intercom_settings %}").render(Context({"request": request}))
    activity = ClientActivity.objects.get(user=person)
    assert (activity.platform, activity.version, activity.sent_credential) == ("web", "page", True)


def test_no_request_can_claim_to_be_a_page() -> None:
    (person,) = users(1)
    assert not record_client(person, "web", "page", environment="development")
    assert not ClientActivity.objects.exists()


# --- erasure reaches the cache: its keys hold no user id, and forget_user deletes the user's ---


def cache_keys() -> set[str]:
    """The keys in the (local-memory) test cache, without Django's prefix and version."""
    store = getattr(cache, "_cache", None)
    if store is None:
        pytest.skip("needs the local-memory cache to list keys")
    return {key.split(":", 2)[2] for key in store}


def test_recording_leaves_no_user_id_version_or_hour_in_the_cache_keys(committed: Any) -> None:
    (person,) = users(1)
    before = cache_keys()
    for version, sent in (("6.6.6", False), ("6.6.6", True), ("7.0.1", True)):
        committed(seen, person, version, sent=sent)
    written = cache_keys() - before
    assert any(key.startswith("intercom_identity:seen:") for key in written)
    # The only others: the version's "already sends" memory (environment, platform, version: no user).
    pseudonymous = ("intercom_identity:seen:", "intercom_identity:latest:", "intercom_identity:config")
    assert {key for key in written if not key.startswith(pseudonymous)} == {
        "intercom_identity:sends:1:ios:6.6.6",
        "intercom_identity:sends:1:ios:7.0.1",
    }
    written = {key for key in written if key.startswith(("intercom_identity:seen:", "intercom_identity:latest:"))}
    hour = f"{timezone.now():%Y%m%d%H}"
    for key in written:
        parts = key.split(":")
        assert str(person.pk) not in parts, key
        assert "6.6.6" not in key
        assert hour not in key


def aseen(user: Any, version: str, *, sent: bool) -> bool:
    """``seen`` through the async path (``arecord``, what ``aserve_identity`` records with)."""
    config = get_serving_config("ios", "development")
    return async_to_sync(activity.arecord)(config, user, version, sent_credential=sent)


@pytest.mark.parametrize("erase", ["forget_user", "delete"])
@pytest.mark.parametrize("recorded", [seen, aseen], ids=["record", "arecord"])
def test_forget_user_deletes_the_users_keys_from_the_cache(
    committed: Any, settings: Any, erase: str, recorded: Any
) -> None:
    settings.INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER = 1
    (person,) = users(1)
    committed(recorded, person, "6.6.6", sent=True)
    committed(recorded, person, "7.0.1", sent=False)  # beyond the allowance: "used up today" is remembered
    theirs = {key for key in cache_keys() if key.startswith(("intercom_identity:seen:", "intercom_identity:new-"))}
    assert any(key.startswith("intercom_identity:new-versions-used:") for key in theirs)
    assert any(key.startswith("intercom_identity:seen:") for key in theirs)
    committed(forget_user if erase == "forget_user" else type(person).delete, person)
    assert theirs.isdisjoint(cache_keys())
    if erase == "forget_user":
        activity.forget_recordings()  # another process: only the cache remembers
        assert committed(seen, person, "6.6.6", sent=True) is True  # written again: nothing remembered them


# --- the web's two clients: pages rendered by the tags, and single-page-app builds ------------


def activity_writes(queries: CaptureQueriesContext) -> int:
    """The statements that wrote the app's activity rows or tallies."""
    return sum(
        1 for q in queries.captured_queries if not q["sql"].startswith("SELECT") and "intercom_identity_" in q["sql"]
    )


def test_a_user_of_pages_and_a_build_writes_at_most_once_per_client_and_hour(
    sending_app_id: str, committed: Any
) -> None:
    """A hybrid site: one user alternates between pages rendered by the tags and a single-page-app
    build (the JSON view with ``X-App-Version``) within the hour. Each client writes once; the
    alternation itself writes nothing (it used to write on every switch: A -> B -> A)."""
    from tests.helpers import render

    (person,) = users(1, "hybrid")
    api = Client()
    api.force_login(person)
    now = timezone.now()

    def build_view() -> None:
        response = api.get("/intercom/user-hash/", {"platform": "web"}, headers={"X-App-Version": "3.1.0"})
        assert response.status_code == 200

    written = []
    for _ in range(5):
        for view in (lambda: render(person, "{% intercom_messenger %}"), build_view):
            with CaptureQueriesContext(connection) as queries:
                committed(view)
            written.append(activity_writes(queries) > 0)
    assert written[:2] == [True, True]  # the first page, the first build
    assert not any(written[2:])
    assert timezone.now() - now < timedelta(minutes=59)
    # A build still moves the user back after another build (A -> B -> A ends on A).
    for version in ("3.2.0", "3.1.0"):
        committed(api.get, "/intercom/user-hash/", {"platform": "web"}, headers={"X-App-Version": version})
    assert ClientActivity.objects.get(user=person, platform="web").version == "3.1.0"


def test_a_warm_page_view_asks_neither_the_database_nor_the_cache(
    sending_app_id: str, committed: Any, monkeypatch: Any
) -> None:
    """A page has no versions to flip between, so a render already recorded this hour by this process
    costs no query and no cache round trip (a build asks the cache whether another version was
    recorded since: test_a_process_remembers_its_recordings_without_asking_the_cache)."""
    (person,) = users(1)
    config = get_serving_config("web", "development")
    assert committed(activity.record_page, config, person, sent_credential=True)
    asked: list[Any] = []
    guard = activity.cache
    real_get_many, real_get = guard.get_many, guard.get
    monkeypatch.setattr(guard, "get_many", lambda keys: asked.append(list(keys)) or real_get_many(keys))
    monkeypatch.setattr(guard, "get", lambda key, *a: asked.append([key]) or real_get(key, *a))
    with CaptureQueriesContext(connection) as queries:
        assert not activity.record_page(config, person, sent_credential=True)
    assert (asked, queries.captured_queries) == ([], [])
    activity.forget_recordings()  # another process: one round trip, to the cache that remembers
    assert not activity.record_page(config, person, sent_credential=True)
    assert len(asked) == 1

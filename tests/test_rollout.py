"""Adoption maths, recording, the enforcement guard, the audit trail and the overview page."""

from __future__ import annotations

import io
import itertools
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intercom_identity import activity, record_client, rollout
from intercom_identity.adoption import adoption
from intercom_identity.exceptions import EnforcementBlocked, ReasonRequired
from intercom_identity.hashing import fingerprint
from intercom_identity.maintenance import recount
from intercom_identity.models import (
    AuditEvent,
    ClientActivity,
    DailyActivity,
    PlatformConfig,
    RolloutPhase,
    VersionTally,
)
from intercom_identity.rollout import (
    change_mode,
    change_phase,
    set_min_sending_version,
    store_secret,
)
from intercom_identity.versions import at_least, version_key
from tests.conftest import SECRETS, configure, staff_client

pytestmark = pytest.mark.django_db


def users(count: int, prefix: str = "u") -> list[Any]:
    model = get_user_model()
    return [model.objects.create_user(f"{prefix}{n}", f"{prefix}{n}@example.com", "pw") for n in range(count)]


def ios() -> PlatformConfig:
    return PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")


def seen(user: Any, version: str, *, sent: bool, at: Any = None, platform: str = "ios") -> bool:
    return record_client(user, platform, version, sent_credential=sent, environment="development", now=at)


# --- versions ------------------------------------------------------------------------


def test_version_order_is_numeric() -> None:
    assert version_key("5.10.0") > version_key("5.9.2")
    assert version_key("10") > version_key("9.9")
    assert at_least("5.2.0", "5.2.0")
    assert at_least("6", "5.2.0")
    assert not at_least("5.1.9", "5.2.0")
    assert not at_least("5.1.9", "")


# --- adoption maths ------------------------------------------------------------------


def test_no_active_users() -> None:
    numbers = adoption(ios())
    assert (numbers.active_users, numbers.ready_users, numbers.ratio) == (0, 0, None)
    assert not numbers.meets_threshold
    assert "no active users" in numbers.describe()
    assert len(numbers.daily) == 30
    assert all(point.ratio is None for point in numbers.daily)


def test_ratio_and_breakdown() -> None:
    people = users(4)
    seen(people[0], "1.0", sent=False)
    seen(people[1], "1.0", sent=False)
    seen(people[2], "2.0", sent=True)
    seen(people[3], "2.0", sent=False)  # a user of a sending version who did not ask this time
    numbers = adoption(ios())
    assert (numbers.active_users, numbers.ready_users, numbers.ratio) == (4, 2, 0.5)
    assert [share.as_dict() for share in numbers.versions] == [
        {"version": "2.0", "users": 2, "sends_credential": True},
        {"version": "1.0", "users": 2, "sends_credential": False},
    ]


def test_user_switching_versions_counts_once_under_the_latest() -> None:
    (person,) = users(1)
    now = timezone.now()
    seen(person, "1.0", sent=False, at=now - timedelta(hours=3))
    seen(person, "2.0", sent=True, at=now)
    numbers = adoption(ios(), now=now)
    assert numbers.active_users == 1
    assert [(s.version, s.users) for s in numbers.versions] == [("2.0", 1)]
    assert numbers.ratio == 1.0


def test_version_that_starts_sending_later() -> None:
    people = users(2)
    now = timezone.now()
    seen(people[0], "2.0", sent=False, at=now - timedelta(days=3))
    assert adoption(ios(), now=now).ready_users == 0
    seen(people[1], "2.0", sent=True, at=now - timedelta(days=1))
    numbers = adoption(ios(), now=now)
    assert numbers.ready_users == 2  # the version sends now, for every user on it
    daily = {point.day: point for point in numbers.daily}
    three_days_ago = (now - timedelta(days=3)).date()
    assert daily[three_days_ago].active_users == 1
    assert daily[three_days_ago].ready_users == 0  # it did not send yet that day
    assert daily[(now - timedelta(days=1)).date()].ready_users == 1


def test_window_boundaries_are_utc_calendar_days() -> None:
    inside, outside = users(2)
    now = timezone.now().replace(hour=12)
    seen(inside, "2.0", sent=True, at=(now - timedelta(days=29)).replace(hour=0, minute=0))
    seen(outside, "1.0", sent=False, at=(now - timedelta(days=30)).replace(hour=23, minute=59))
    numbers = adoption(ios(), now=now)
    assert numbers.active_users == 1
    assert numbers.ratio == 1.0
    assert adoption(ios(), now=now, days=31).active_users == 2
    assert adoption(ios(), now=now, days=1).active_users == 0
    assert len(adoption(ios(), now=now, days=7).daily) == 7


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


def test_minimum_sending_version_counts_versions_not_yet_observed() -> None:
    people = users(3)
    seen(people[0], "5.1.9", sent=False)
    seen(people[1], "5.2.0", sent=False)
    seen(people[2], "5.10.1", sent=False)
    assert adoption(ios()).ready_users == 0
    set_min_sending_version(ios(), "5.2.0")
    numbers = adoption(ios())
    assert numbers.ready_users == 2
    assert {s.version: s.sends_credential for s in numbers.versions} == {"5.10.1": True, "5.2.0": True, "5.1.9": False}


def test_platforms_and_environments_are_counted_apart() -> None:
    (person,) = users(1)
    seen(person, "2.0", sent=True, platform="android")
    record_client(person, "ios", "2.0", sent_credential=True, environment="production")
    assert adoption(ios()).active_users == 0
    android = PlatformConfig.objects.get(environment__slug="development", platform="android")
    assert adoption(android).active_users == 1


# --- recording -----------------------------------------------------------------------


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
    from django.db import transaction

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


@pytest.mark.parametrize("version", ["1\xb2", "2\u00b3", "v\u0665", "ü1"])
def test_non_ascii_versions_are_refused(version: str) -> None:
    (person,) = users(1)
    assert not seen(person, version, sent=True)
    with pytest.raises(ValueError, match="ASCII"):
        set_min_sending_version(ios(), version)


def test_version_order_handles_prereleases_and_trailing_zeros() -> None:
    assert version_key("5.2.0-beta") < version_key("5.2.0") < version_key("5.2.0.1")
    assert version_key("1.0") == version_key("1.0.0") == version_key("1")
    assert version_key("5.2.0-beta.2") > version_key("5.2.0-beta.1")
    assert version_key("\xb2\u0665") == version_key("")  # never raises


def test_deleting_an_environment_with_activity() -> None:
    from intercom_identity.models import Environment

    staging = Environment.objects.create(slug="staging", label="Staging")
    (person,) = users(1)
    record_client(person, "ios", "1.0", sent_credential=False, environment="staging")
    staging.delete()
    assert not VersionTally.objects.filter(environment_id=staging.pk).exists()


def test_guard_numbers_never_round_up_to_the_threshold() -> None:
    from intercom_identity.adoption import Adoption, VersionShare

    numbers = Adoption("e", "ios", 30, 0.95, (VersionShare("2", 9496, True), VersionShare("1", 504, False)))
    assert not numbers.meets_threshold
    assert numbers.ratio_display == "94.9%"
    assert "threshold 95%" in numbers.describe()
    assert Adoption("e", "ios", 30, 0.951, ()).threshold_display == "95.1%"


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


# --- the guard -----------------------------------------------------------------------


def below_threshold() -> PlatformConfig:
    """iOS sending, with 1 of 4 active users on a sending version."""
    config = configure("development", "ios", RolloutPhase.SENDING)
    people = users(4, "g")
    for person in people[:3]:
        seen(person, "1.0", sent=False)
    seen(people[3], "2.0", sent=True)
    return config


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("intercom_identity", *args, stdout=out)
    return out.getvalue()


def test_guard_refuses_enforcement_below_threshold() -> None:
    config = below_threshold()
    with pytest.raises(EnforcementBlocked) as excinfo:
        change_phase(config, RolloutPhase.ENFORCED)
    assert "25%" in str(excinfo.value)
    assert "95%" in str(excinfo.value)
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING


def test_guard_through_the_command() -> None:
    below_threshold()
    with pytest.raises(CommandError, match=r"adoption is 25% \(1 of 4 .*threshold 95%"):
        run("phase", "development", "ios", "enforced")
    with pytest.raises(CommandError, match="reason"):
        run("phase", "development", "ios", "enforced", "--force")
    assert ios().phase == RolloutPhase.SENDING
    run("phase", "development", "ios", "enforced", "--force", "--reason", "old versions are test devices")
    assert ios().phase == RolloutPhase.ENFORCED
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert (event.from_value, event.to_value, event.forced) == ("sending", "enforced", True)
    assert event.reason == "old versions are test devices"
    assert event.adoption_ratio == 0.25


def test_enforcing_at_the_threshold_is_not_forced() -> None:
    config = configure("development", "ios", RolloutPhase.SENDING)
    for person in users(20, "t"):
        seen(person, "2.0", sent=True)
    change_phase(config, RolloutPhase.ENFORCED, force=True, reason="belt and braces")
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert event.forced is False  # the guard did not need overriding


def test_going_back_from_enforced_is_always_allowed_and_recorded() -> None:
    config = below_threshold()
    change_phase(config, RolloutPhase.ENFORCED, force=True, reason="test")
    assert change_phase(config, RolloutPhase.SENDING, reason="rollback") == RolloutPhase.ENFORCED
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert (event.from_value, event.to_value, event.forced, event.reason) == ("enforced", "sending", False, "rollback")


def test_force_needs_a_reason() -> None:
    config = below_threshold()
    with pytest.raises(ReasonRequired):
        change_phase(config, RolloutPhase.ENFORCED, force=True, reason="  ")


def transition(client: Client, config: PlatformConfig, key: str, **extra: str) -> Any:
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])
    return client.post(url, {"transition": key, "confirm": "yes", **extra}, follow=True)


def test_guard_through_the_admin(admin_client: Client, admin_user: Any) -> None:
    config = below_threshold()
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])
    page = admin_client.get(url, {"to": "phase:enforced"}).content.decode()
    assert 'id="readiness"' in page
    assert "25%" in page
    assert "95%" in page
    assert 'name="force"' in page

    refused = transition(admin_client, config, "phase:enforced").content.decode()
    assert "Refusing to enforce" in refused
    assert ios().phase == RolloutPhase.SENDING

    no_reason = transition(admin_client, config, "phase:enforced", force="yes").content.decode()
    assert "needs a written reason" in no_reason
    assert ios().phase == RolloutPhase.SENDING

    transition(admin_client, config, "phase:enforced", force="yes", reason="launch day")
    assert ios().phase == RolloutPhase.ENFORCED
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert (event.actor, event.actor_label, event.forced, event.reason) == (admin_user, "admin", True, "launch day")


# --- audit trail ---------------------------------------------------------------------


def test_every_kind_of_change_is_audited_without_secrets(admin_client: Client) -> None:
    config = ios()
    store_secret(config, SECRETS[("development", "ios")])
    store_secret(config, SECRETS[("development", "android")] + "-x")
    change_phase(config, RolloutPhase.SENDING)
    change_mode(config, "jwt", reason="messenger security")
    set_min_sending_version(config, "5.2")
    change_phase(config, RolloutPhase.SENDING)  # no change, no row
    rows = list(AuditEvent.objects.order_by("id").values_list("kind", "from_value", "to_value"))
    assert rows == [
        ("secret", "", fingerprint(SECRETS[("development", "ios")])),
        (
            "secret",
            fingerprint(SECRETS[("development", "ios")]),
            fingerprint(SECRETS[("development", "android")] + "-x"),
        ),
        ("phase", "off", "sending"),
        ("credential_mode", "user_hash", "jwt"),
        ("min_sending_version", "", "5.2"),
    ]
    assert all(event.actor_label.startswith("command line") for event in AuditEvent.objects.all())
    listing = admin_client.get(reverse("admin:intercom_identity_auditevent_changelist")).content.decode()
    assert "messenger security" in listing
    for secret in SECRETS.values():
        assert secret not in listing


def test_admin_secret_and_min_version_changes_are_audited_with_the_actor(admin_client: Client, admin_user: Any) -> None:
    config = configure("development", "web")
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
    admin_client.post(url, {"new_secret": "admin-set-secret-0011223344556677889900", "min_sending_version": "4.0"})
    events = AuditEvent.objects.filter(actor=admin_user)
    assert set(events.values_list("kind", flat=True)) == {"secret", "min_sending_version"}
    config.refresh_from_db()
    assert config.min_sending_version == "4.0"


def test_admin_refuses_a_malformed_min_version(admin_client: Client) -> None:
    config = configure("development", "web")
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
    response = admin_client.post(url, {"min_sending_version": "x" * 64 + "y"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_audit_is_read_only_in_the_admin(admin_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    event = AuditEvent.objects.first()
    assert event is not None
    assert admin_client.get(reverse("admin:intercom_identity_auditevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:intercom_identity_auditevent_add")).status_code == 403
    change = reverse("admin:intercom_identity_auditevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200  # a read-only view
    assert admin_client.post(change, {"reason": "rewritten"}).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:intercom_identity_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    changelist = admin_client.post(
        reverse("admin:intercom_identity_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason


def test_history_command() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    text = run("history")
    assert "development/ios phase off -> sending" in text
    events = json.loads(run("history", "--json", "--platform", "ios"))
    assert [e["kind"] for e in events] == ["phase", "secret"]
    assert set(events[0]) == {
        "at",
        "actor",
        "environment",
        "platform",
        "kind",
        "from",
        "to",
        "adoption_ratio",
        "reason",
        "forced",
    }
    assert json.loads(run("history", "--json", "--environment", "production")) == []


def test_adoption_command() -> None:
    below_threshold()
    data = json.loads(run("adoption", "development", "ios", "--json"))
    assert (data["active_users"], data["ready_users"], data["ratio"], data["threshold"]) == (4, 1, 0.25, 0.95)
    assert data["versions"] == [
        {"version": "2.0", "users": 1, "sends_credential": True},
        {"version": "1.0", "users": 3, "sends_credential": False},
    ]
    text = run("adoption", "development", "ios", "--days", "7")
    assert "25%" in text
    assert "below threshold" in text
    with pytest.raises(CommandError):
        run("adoption", "development", "ios", "--days", "0")


def test_min_version_command() -> None:
    assert "none -> 5.2.0" in run("min-version", "development", "ios", "5.2.0")
    assert ios().min_sending_version == "5.2.0"
    run("min-version", "development", "ios", "")
    assert ios().min_sending_version == ""


# --- overview page -------------------------------------------------------------------

OVERVIEW = "/admin/intercom_identity/platformconfig/overview/"


def test_overview_shows_the_matrix(admin_client: Client) -> None:
    below_threshold()
    html = admin_client.get(OVERVIEW).content.decode()
    assert html.count('class="intercom-matrix"') == 2
    assert 'data-environment="development"' in html
    assert 'data-environment="production"' in html
    assert "25% (1 / 4)" in html
    assert "<svg" in html
    assert "<circle" in html  # one measured day: a dot
    assert 'class="threshold"' in html
    assert "<script" not in html.split('id="content-main"')[1].split("</div>")[0]
    assert fingerprint(SECRETS[("development", "ios")]) in html
    assert "?to=phase%3Aenforced" in html
    assert "?to=phase%3Aoff" in html
    for secret in SECRETS.values():
        assert secret not in html


def test_overview_for_viewers_has_no_buttons() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    html = staff_client("viewer", "view_platformconfig").get(OVERVIEW).content.decode()
    assert "view only" in html
    assert "?to=phase" not in html


def test_overview_hides_production_buttons_without_the_permission() -> None:
    client = staff_client("dev", "view_platformconfig", "change_platformconfig")
    html = client.get(OVERVIEW).content.decode()
    sections = {part.split('"')[0]: part for part in html.split('<h2 id="env-')[1:]}
    assert "?to=phase%3Asending" in sections["development"]
    assert "?to=phase" not in sections["production"]


def test_overview_needs_view_permission() -> None:
    assert staff_client("nobody").get(OVERVIEW).status_code == 403


def test_trend_chart_draws_measured_days_only() -> None:
    from intercom_identity.charts import trend_svg

    svg = str(trend_svg([None, 0.5, None, 1.0], 0.95, label="<iOS> & co"))
    assert svg.count("<circle") == 2
    assert svg.count("<polyline") == 1
    assert "&lt;iOS&gt; &amp; co" in svg
    assert "<iOS>" not in svg
    empty = str(trend_svg([None, None], 0.95, label="x"))
    assert "<polyline" not in empty
    assert "<circle" not in empty


@pytest.mark.parametrize("typo", ["banana", "1.x", "x2", "2.0 beta"])
def test_min_version_must_be_a_release_number(typo: str) -> None:
    with pytest.raises(ValueError, match="release number"):
        set_min_sending_version(ios(), typo)
    with pytest.raises(CommandError, match="release number"):
        run("min-version", "development", "ios", typo)
    assert ios().min_sending_version == ""


def test_a_leading_v_is_ignored_in_versions() -> None:
    assert version_key("v2.0.0") == version_key("2")
    assert not at_least("0.1", "v2.0.0")
    set_min_sending_version(ios(), "v5.2.0-beta.1")
    assert ios().min_sending_version == "v5.2.0-beta.1"


def test_days_out_of_range_is_a_short_usage_error() -> None:
    with pytest.raises(CommandError, match="not a number of days from 1 to 3650"):
        run("adoption", "development", "ios", "--days", "0")


# --- one guard: the confirmation page and the command agree --------------------------

CHANGELIST = "/admin/intercom_identity/platformconfig/"


def mixed_rows() -> dict[str, PlatformConfig]:
    """Four rows, each judged differently by the guard when moved to enforced."""
    ready = configure("development", "ios", RolloutPhase.SENDING)
    for person in users(2, "ready"):
        seen(person, "2.0", sent=True)
    below = configure("development", "android", RolloutPhase.SENDING)
    for person in users(2, "old"):
        seen(person, "1.0", sent=False, platform="android")
    already = configure("development", "web", RolloutPhase.ENFORCED)  # forced at set-up; no active users
    no_secret = PlatformConfig.objects.select_related("environment").get(environment__slug="production", platform="ios")
    return {"ready": ready, "below": below, "already": already, "no_secret": no_secret}


def command_outcome(config: PlatformConfig) -> str:
    """What ``phase ENV PLATFORM enforced`` does to one row (rolled back afterwards)."""
    with transaction.atomic():
        try:
            out = run("phase", config.environment.slug, config.platform, "enforced")
        except CommandError as exc:
            outcome = "blocked" if "Refusing to enforce" in str(exc) else "missing_secret"
        else:
            outcome = "unchanged" if "already in phase" in out else "changes"
        transaction.set_rollback(True)
    return outcome


def page_outcomes(client: Client, configs: list[PlatformConfig]) -> dict[str, set[str]]:
    """What the confirmation page of the enforce action says of each row, by its label."""
    page = client.post(CHANGELIST, {"action": "move_to_enforced", "_selected_action": [c.pk for c in configs]})
    html = page.content.decode()
    readiness = html.split('id="readiness"', 1)[1].split("</table>", 1)[0] if 'id="readiness"' in html else ""
    missing = html.split("cannot leave phase 'off'", 1)[1].split("</p>", 1)[0] if "cannot leave" in html else ""
    return {
        "changes": set(re.findall(r'<tr class="changes"><td>([^<]+)</td>', html)),
        "unchanged": set(re.findall(r'<tr class="unchanged"><td>([^<]+)</td>', html)),
        "blocked": set(re.findall(r'<tr class="below-threshold">\s*<td>([^<]+)</td>', readiness)),
        "guarded": set(re.findall(r"<tr class=\"[^\"]+\">\s*<td>([^<]+)</td>", readiness)),
        "missing_secret": {str(c) for c in configs if str(c) in missing},
        "offers_force": {"yes"} if 'name="force"' in html else set(),
    }


def test_the_page_and_the_command_agree_on_every_mixed_selection(admin_client: Client) -> None:
    rows = mixed_rows()
    by_command = {name: command_outcome(config) for name, config in rows.items()}
    assert by_command == {"ready": "changes", "below": "blocked", "already": "unchanged", "no_secret": "missing_secret"}
    names = list(rows)
    for size in range(1, len(names) + 1):
        for selection in itertools.combinations(names, size):
            configs = [rows[name] for name in selection]
            labels = {name: str(rows[name]) for name in selection}
            page = page_outcomes(admin_client, configs)
            expected = {
                outcome: {labels[n] for n in selection if by_command[n] == outcome} for outcome in by_command.values()
            }
            assert page["unchanged"] == expected["unchanged"], selection  # an enforced row is no change
            assert page["changes"] == expected["changes"] | expected["blocked"] | expected["missing_secret"], selection
            assert page["blocked"] == expected["blocked"], selection
            assert page["guarded"] == expected["changes"] | expected["blocked"], selection
            assert page["missing_secret"] == expected["missing_secret"], selection
            assert page["offers_force"] == ({"yes"} if expected["blocked"] else set()), selection
            # Confirming without force applies every row or none, as the command would row by row.
            with transaction.atomic():
                admin_client.post(
                    CHANGELIST,
                    {"action": "move_to_enforced", "_selected_action": [c.pk for c in configs], "confirm": "yes"},
                )
                after = {n: PlatformConfig.objects.get(pk=rows[n].pk).phase for n in selection}
                transaction.set_rollback(True)
            all_allowed = not (expected["blocked"] or expected["missing_secret"])
            for name in selection:
                was = RolloutPhase.ENFORCED if name == "already" else rows[name].phase
                assert after[name] == (RolloutPhase.ENFORCED if all_allowed else was), (selection, name)


def test_preview_counts_only_rows_that_move() -> None:
    rows = mixed_rows()
    plan = rollout.preview(rows.values(), RolloutPhase.ENFORCED)
    assert [move.config for move in plan.changing] == [rows["ready"], rows["below"], rows["no_secret"]]
    assert plan.below_threshold == [rows["below"]]
    assert plan.missing_secret == [rows["no_secret"]]
    assert [config for config, _numbers in plan.readiness] == [rows["ready"], rows["below"]]
    assert rollout.preview([rows["already"]], RolloutPhase.ENFORCED).readiness == []


def test_change_many_is_all_or_nothing_and_audited(admin_user: Any) -> None:
    rows = mixed_rows()
    before = AuditEvent.objects.count()
    with pytest.raises(EnforcementBlocked):
        rollout.change_many([rows["ready"], rows["below"]], RolloutPhase.ENFORCED, actor=admin_user)
    assert PlatformConfig.objects.get(pk=rows["ready"].pk).phase == RolloutPhase.SENDING
    assert AuditEvent.objects.count() == before
    changed = rollout.change_many(
        [rows["ready"], rows["below"], rows["already"]], "enforced", actor=admin_user, reason="launch", force=True
    )
    assert [previous for _config, previous in changed] == ["sending", "sending", "enforced"]
    events = AuditEvent.objects.order_by("-id")[:2]
    assert {(e.platform, e.forced, e.reason) for e in events} == {("ios", False, "launch"), ("android", True, "launch")}
    assert AuditEvent.objects.count() == before + 2  # the row already enforced did not move

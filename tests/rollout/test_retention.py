"""Retention (retention.py): a prune keeps the figures of the windows shown and removes the rows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import Client
from django.utils import timezone

from intercom_identity.management.tallies import recount
from intercom_identity.models import AppVersion, ClientActivity, DailyActivity, VersionTally
from intercom_identity.rollout.adoption import adoption
from intercom_identity.rollout.retention import cutoff_day, prune_activity
from tests.helpers import ios, run, seen, users

pytestmark = pytest.mark.django_db

OVERVIEW = "/admin/intercom_identity/platformconfig/overview/"


def tallies() -> dict[tuple[Any, ...], tuple[int, int]]:
    return {
        (t.environment_id, t.platform, t.kind, t.day, t.version): (t.users, t.credential_users)
        for t in VersionTally.objects.all()
        if t.users or t.credential_users
    }


@pytest.fixture
def history(settings: Any) -> list[Any]:
    """200 days of activity: users seen every few days, some gone for months, versions that
    were only used long ago. Recorded through ``record_client`` (a long retention while
    recording, 90 days afterwards)."""
    settings.INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS = 3650
    settings.INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER = 10
    now = timezone.now()
    people = users(6)
    for day in range(200, -1, -1):
        for n, person in enumerate(people):
            if day % (n + 2) or (n == 5 and day < 120):  # user 5 left 120 days ago
                continue
            upgraded = day <= 20 + n and n != 4  # user 4 never upgrades
            version = "0.9" if day > 150 else ("2.0" if upgraded else "1.0")
            cache.clear()
            seen(person, version, sent=version == "2.0", at=now - timedelta(days=day, hours=n))
    settings.INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS = 90
    return people


def overview_figures(client: Client) -> list[str]:
    """The numbers the overview shows: adoption cells, version tables and the trend's points."""
    html = client.get(OVERVIEW).content.decode()
    return re.findall(r'<td class="adoption[^"]*">.*?</td>|<tr class="version">.*?</tr>|<circle[^>]*>', html, re.S)


def test_a_prune_keeps_the_figures_and_removes_the_rows(history: list[Any], admin_client: Client) -> None:
    before = {days: adoption(ios(), days=days).as_dict() for days in (1, 7, 30, 91)}
    shown = overview_figures(admin_client)
    assert "80.0% (4 / 5)" in "".join(shown)
    assert (before[30]["ready_users"], len(before[30]["versions"])) == (4, 2)
    cutoff = cutoff_day()
    old_daily = DailyActivity.objects.filter(day__lt=cutoff).count()
    assert old_daily > 0
    assert ClientActivity.objects.count() == 6

    pruned = prune_activity(batch_size=7)  # small batches: many of them

    assert pruned.daily_rows == old_daily
    assert not DailyActivity.objects.filter(day__lt=cutoff).exists()
    assert DailyActivity.objects.filter(day__gte=cutoff).exists()
    assert pruned.latest_rows == 1  # user 5, not seen for 120 days
    assert ClientActivity.objects.count() == 5
    assert pruned.versions == 1  # 0.9: nobody has reported it for 50 days beyond the retention
    assert sorted(AppVersion.objects.values_list("version", flat=True)) == ["1.0", "2.0"]
    assert not VersionTally.objects.filter(day__lt=cutoff).exists()
    assert {days: adoption(ios(), days=days).as_dict() for days in (1, 7, 30, 91)} == before
    assert overview_figures(admin_client) == shown
    kept = tallies()
    recount()
    assert tallies() == kept  # still exact


def test_prune_command_dry_run_then_for_real(history: list[Any]) -> None:
    rows = DailyActivity.objects.count()
    old = DailyActivity.objects.filter(day__lt=cutoff_day()).count()
    dry = run("prune-activity", "--dry-run")
    assert f"would remove {old:,} daily activity row(s), 1 latest activity row(s)" in dry
    assert f"Activity before {cutoff_day().isoformat()} (retention 90 days)" in dry
    assert DailyActivity.objects.count() == rows  # nothing removed
    done = run("prune-activity")
    assert done == dry.replace("would remove", "removed")
    assert DailyActivity.objects.count() == rows - old
    again = run("prune-activity")  # as cron runs it every day: nothing left to do
    assert "removed 0 daily activity row(s), 0 latest activity row(s)" in again


def test_nothing_to_prune_costs_a_few_queries(django_assert_max_num_queries: Any) -> None:
    (person,) = users(1)
    seen(person, "2.0", sent=True)
    with django_assert_max_num_queries(5):
        assert prune_activity().daily_rows == 0
    assert DailyActivity.objects.count() == 1


@pytest.mark.parametrize("value", [29, 0, -1, "90", 90.0, True, None])
def test_retention_must_be_at_least_thirty_days(settings: Any, value: object) -> None:
    settings.INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS = value
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.E023"):
        call_command("check")


@pytest.mark.django_db(transaction=True)
def test_a_prune_alongside_recording_keeps_exact_tallies(settings: Any) -> None:
    """PostgreSQL: users coming back while their old rows are pruned, from other threads."""
    import threading

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (run with DATABASE_URL=postgres://...)")
    from intercom_identity.models import Environment

    # A transactional test empties the tables after it, the migrations' rows included.
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    settings.INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS = 3650
    now = timezone.now()
    people = users(8, "back")
    for person in people:
        for day in range(150, 100, -5):
            seen(person, "1.0", sent=False, at=now - timedelta(days=day))
    settings.INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS = 90
    errors: list[BaseException] = []

    def come_back(person: Any) -> None:
        try:
            for hour in range(5):
                cache.clear()
                seen(person, "2.0", sent=True, at=now - timedelta(hours=hour))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=come_back, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    prune_activity(batch_size=2)
    for thread in threads:
        thread.join()
    assert errors == []
    prune_activity()  # whatever the threads left of the old days
    assert ClientActivity.objects.count() == 8  # every user came back: none pruned for good
    assert adoption(ios()).as_dict()["ready_users"] == 8
    kept = tallies()
    recount()
    assert tallies() == kept


def test_a_prune_forgets_who_first_reported_a_version_kept(committed: Any) -> None:
    """A version still reported is kept, but "user X introduced 6.6.6 that day" goes with the retention."""
    first, later = users(2)
    now = timezone.now()
    committed(seen, first, "6.6.6", sent=False, at=now)
    committed(seen, later, "6.6.6", sent=False, at=now + timedelta(days=100))
    version = AppVersion.objects.get(version="6.6.6")
    assert version.first_reported_by == first
    today = (now + timedelta(days=100)).date()
    dry = prune_activity(today=today, dry_run=True)
    assert dry.reporters == 1
    assert "and the first reporter of 1 app version(s) still reported" in dry.describe()
    pruned = prune_activity(today=today)
    assert pruned.reporters == 1
    version.refresh_from_db()
    assert version.first_reported_by is None  # kept, without its reporter
    assert prune_activity(today=today).reporters == 0


def test_a_recent_reporter_is_kept(committed: Any) -> None:
    (person,) = users(1)
    committed(seen, person, "6.6.6", sent=False)
    assert prune_activity().reporters == 0
    assert AppVersion.objects.get(version="6.6.6").first_reported_by == person

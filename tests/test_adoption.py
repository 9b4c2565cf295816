"""Adoption (adoption.py): the maths, and the query over the tallies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from intercom_identity import record_client
from intercom_identity.adoption import adoption
from intercom_identity.models import (
    PlatformConfig,
)
from intercom_identity.rollout import (
    set_min_sending_version,
)
from tests.conftest import ios, seen, users

pytestmark = pytest.mark.django_db


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
        {"version": "2.0", "users": 2, "credential_users": 1, "sends_credential": True, "counted_by": "evidence"},
        {"version": "1.0", "users": 2, "credential_users": 0, "sends_credential": False, "counted_by": None},
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


def test_guard_numbers_never_round_up_to_the_threshold() -> None:
    from intercom_identity.adoption import Adoption, VersionShare

    numbers = Adoption("e", "ios", 30, 0.95, (VersionShare("2", 9496, True), VersionShare("1", 504, False)))
    assert not numbers.meets_threshold
    assert numbers.ratio_display == "94.9%"
    assert "threshold 95%" in numbers.describe()
    assert Adoption("e", "ios", 30, 0.951, ()).threshold_display == "95.1%"

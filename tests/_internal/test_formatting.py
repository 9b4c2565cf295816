"""formatting.py: percentages with one decimal and relative times, as every page shows them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from intercom_identity._internal.formatting import exact_time, percent, relative_time
from intercom_identity.models import Environment, PlatformConfig, WorkspaceSnapshot
from tests.helpers import (
    AUDIT,
    CHANGELIST,
    OVERVIEW,
    below_threshold,
    change_url,
    configure,
    forced_enforcement,
    overview_row,
    transition_url,
)


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [
        (6 / 7, "85.7%"),
        (0.25, "25.0%"),
        (0.95, "95.0%"),
        (1.0, "100.0%"),
        (0.0, "0.0%"),
        (0.951, "95.1%"),
        (0.9996, "100.0%"),  # rounded to the nearest tenth
    ],
)
def test_percent_has_one_decimal(ratio: float, shown: str) -> None:
    assert percent(ratio) == shown


def test_percent_rounded_down_never_reaches_a_threshold_it_misses() -> None:
    assert percent(0.9496, round_down=True) == "94.9%"
    assert percent(0.9999, round_down=True) == "99.9%"
    assert percent(0.57, round_down=True) == "57.0%"  # 0.57 * 1000 is 569.99… in binary
    assert percent(1.0, round_down=True) == "100.0%"


def test_percent_follows_the_active_language() -> None:
    with translation.override("fr"):
        assert percent(6 / 7) == "85,7%"


def test_relative_time_says_just_now_under_a_minute() -> None:
    now = timezone.now()
    assert relative_time(now, now) == "just now"
    assert relative_time(now - timedelta(seconds=59), now) == "just now"
    assert relative_time(now + timedelta(seconds=20), now) == "just now"  # another server's clock
    assert relative_time(now - timedelta(seconds=61), now) == "1\xa0minute ago"
    assert relative_time(now - timedelta(days=3, hours=5), now) == "3\xa0days ago"
    assert relative_time(now + timedelta(hours=2, minutes=1), now) == "in 2\xa0hours"


def test_exact_time_uses_the_admins_format() -> None:
    moment = timezone.now().replace(year=2026, month=12, day=1, hour=20, minute=25)
    with timezone.override("UTC"):
        assert exact_time(moment) == "Dec. 1, 2026, 8:25 p.m."


@pytest.mark.django_db
def test_percentages_have_one_decimal_on_every_page(admin_client: Client) -> None:
    config = below_threshold()  # 1 of 4: 25.0% against 95.0%
    event = forced_enforcement()
    overview = overview_row(admin_client.get(OVERVIEW).content.decode(), "development", "ios")
    assert "25.0% (1 / 4)" in overview
    assert "threshold 95.0%" in overview
    guard = admin_client.get(transition_url(config) + "?to=phase:enforced").content.decode()
    readiness = guard.split('id="readiness"', 1)[1].split("</table>", 1)[0]
    assert '<td class="intercom-below">25.0%</td>' in readiness
    assert "<td>95.0%</td>" in readiness
    listing = admin_client.get(AUDIT).content.decode()
    assert "85.7%" in listing
    assert "0.857142" not in listing
    detail = admin_client.get(reverse("admin:intercom_identity_auditevent_change", args=[event.pk])).content.decode()
    assert "85.7%" in detail
    assert "0.857142" not in detail
    refused = admin_client.post(transition_url(config), {"transition": "phase:enforced", "confirm": "yes"}, follow=True)
    assert "adoption is 25.0% (1 of 4 active users in the last 30 days), threshold 95.0%" in refused.content.decode()


@pytest.mark.django_db
def test_a_secret_set_a_moment_ago_was_set_just_now(admin_client: Client) -> None:
    config = configure("development", "ios")
    assert "set <time" in admin_client.get(OVERVIEW).content.decode()
    for url in (OVERVIEW, CHANGELIST, change_url(config)):
        html = admin_client.get(url).content.decode()
        assert re.search(r"set <time datetime=\"[^\"]+\" title=\"[^\"]+\">just now</time>", html), url
        assert "0\xa0minutes" not in html, url
    PlatformConfig.objects.filter(pk=config.pk).update(secret_set_at=timezone.now() - timedelta(days=3, hours=2))
    assert ">3\xa0days ago</time>" in admin_client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_synced_just_now(admin_client: Client) -> None:
    WorkspaceSnapshot.objects.create(
        environment=Environment.objects.get(slug="development"),
        fetched_at=timezone.now(),
        attempted_at=timezone.now(),
        identity_verification=False,
        app_id_code="",
    )
    html = admin_client.get(OVERVIEW).content.decode()
    assert re.search(r"synced <time[^>]*>just now</time>", html)

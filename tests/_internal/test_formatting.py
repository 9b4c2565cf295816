"""formatting.py: percentages with one decimal and relative times, as every page shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from intercom_identity._internal.formatting import exact_time, percent, relative_time


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

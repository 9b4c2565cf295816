"""Adoption: how many active users run an app version that sends the credential.

The shares and ratios are pure functions over counts; ``adoption()`` feeds them from the
tallies that ``activity`` keeps. Days are UTC calendar days: "active in the last 30 days"
means last seen today or on one of the 29 days before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from . import versions
from ._deprecation import moved_names
from .conf import conf
from .formatting import percent
from .models import AppVersion, PlatformConfig, VersionTally


@dataclass(frozen=True)
class VersionShare:
    version: str
    users: int
    sends_credential: bool

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "users": self.users, "sends_credential": self.sends_credential}


@dataclass(frozen=True)
class DayPoint:
    day: date
    active_users: int
    ready_users: int

    @property
    def ratio(self) -> float | None:
        return ratio(self.ready_users, self.active_users)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "active_users": self.active_users,
            "ready_users": self.ready_users,
            "ratio": self.ratio,
        }


@dataclass(frozen=True)
class Adoption:
    """Adoption of credential-sending versions among the users active in a window."""

    environment: str
    platform: str
    days: int
    threshold: float
    versions: tuple[VersionShare, ...]
    daily: tuple[DayPoint, ...] = field(default=())

    @property
    def active_users(self) -> int:
        return sum(share.users for share in self.versions)

    @property
    def ready_users(self) -> int:
        return sum(share.users for share in self.versions if share.sends_credential)

    @property
    def ratio(self) -> float | None:
        """Ready / active, or None when nobody was active (no evidence either way)."""
        return ratio(self.ready_users, self.active_users)

    @property
    def meets_threshold(self) -> bool:
        return self.ratio is not None and self.ratio >= self.threshold

    @property
    def ratio_display(self) -> str:
        """The ratio as a percentage rounded *down* to 0.1, so it never looks like it meets a threshold it misses."""
        return "-" if self.ratio is None else percent(self.ratio, round_down=True)

    @property
    def threshold_display(self) -> str:
        return percent(self.threshold)

    def describe(self) -> str:
        """One sentence with the numbers, for guard messages."""
        if self.ratio is None:
            return gettext("no active users were recorded in the last %(days)s days (threshold %(threshold)s)") % {
                "days": self.days,
                "threshold": self.threshold_display,
            }
        return gettext(
            "adoption is %(ratio)s (%(ready)s of %(active)s active users in the last %(days)s days), "
            "threshold %(threshold)s"
        ) % {
            "ratio": self.ratio_display,
            "ready": self.ready_users,
            "active": self.active_users,
            "days": self.days,
            "threshold": self.threshold_display,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "platform": self.platform,
            "days": self.days,
            "active_users": self.active_users,
            "ready_users": self.ready_users,
            "ratio": self.ratio,
            "threshold": self.threshold,
            "versions": [share.as_dict() for share in self.versions],
            "daily": [point.as_dict() for point in self.daily],
        }


def ratio(ready: int, active: int) -> float | None:
    return None if active == 0 else ready / active


def version_shares(counts: Mapping[str, int], sends: Callable[[str], bool]) -> tuple[VersionShare, ...]:
    """Per-version users, newest version first."""
    return tuple(
        VersionShare(version, users, sends(version))
        for version, users in sorted(counts.items(), key=lambda item: versions.version_key(item[0]), reverse=True)
    )


def daily_points(
    rows: Iterable[tuple[date, str, int]], days: Iterable[date], sends_on: Callable[[str, date], bool]
) -> tuple[DayPoint, ...]:
    """One point per day (days without activity included) from ``(day, version, users)`` rows."""
    active: dict[date, int] = {}
    ready: dict[date, int] = {}
    for day, version, users in rows:
        active[day] = active.get(day, 0) + users
        if sends_on(version, day):
            ready[day] = ready.get(day, 0) + users
    return tuple(DayPoint(day, active.get(day, 0), ready.get(day, 0)) for day in days)


def adoption(
    config: PlatformConfig, *, days: int = 30, now: datetime | None = None, with_daily: bool = True
) -> Adoption:
    """Adoption for one (environment, platform) over the last ``days`` days, with its daily series.

    The guard and the audit only need the ratio (``with_daily=False``).
    """
    today = (now or timezone.now()).date()
    first_day = today - timedelta(days=days - 1)
    credential_since = {
        v.version: v.first_credential_at
        for v in AppVersion.objects.filter(environment_id=config.environment_id, platform=config.platform)
    }
    minimum = config.min_sending_version

    def sends_on(version: str, day: date) -> bool:
        """Sending on ``day``: a request of it got a credential by then, or it is at least the minimum."""
        started = credential_since.get(version)
        return (started is not None and started.date() <= day) or versions.at_least(version, minimum)

    tallies = VersionTally.objects.filter(
        environment_id=config.environment_id, platform=config.platform, day__gte=first_day
    )
    counts = dict(
        tallies.filter(kind=VersionTally.Kind.LATEST)
        .values_list("version")
        .annotate(users=Sum("users"))
        .filter(users__gt=0)
        .order_by()
    )
    daily: tuple[Any, ...] = ()
    if with_daily:
        rows = tallies.filter(kind=VersionTally.Kind.DAILY, users__gt=0).values_list("day", "version", "users")
        daily = daily_points(rows, [first_day + timedelta(days=n) for n in range(days)], sends_on)
    return Adoption(
        environment=config.environment.slug,
        platform=config.platform,
        days=days,
        threshold=conf.ENFORCE_THRESHOLD,
        versions=version_shares(counts, lambda version: sends_on(version, today)),
        daily=daily,
    )


# Names that moved out (their old path still works, with a DeprecationWarning).
__getattr__ = moved_names(
    "intercom_identity.adoption",
    {
        "version_key": "intercom_identity.versions",
        "at_least": "intercom_identity.versions",
    },
)

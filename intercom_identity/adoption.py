"""Adoption maths: how many active users run an app version that sends the credential.

Pure functions over counts; ``services.adoption`` feeds them from the activity tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_PART = re.compile(r"[0-9]+|[A-Za-z]+")
_WORD, _END, _NUMBER = 0, 1, 2


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for app versions: "5.10.0" after "5.9.2", "5.2.0-beta" before "5.2.0", "1.0" equal to "1.0.0".

    Numbers compare as numbers, words (pre-release tags) before the end of the version,
    trailing zeros do not count. Only ASCII digits and letters count: it never raises.
    """
    version = version[1:] if version[:1] in ("v", "V") else version  # "v2.0.0" is 2.0.0
    parts = [(_NUMBER, int(part)) if part.isdigit() else (_WORD, part.lower()) for part in _PART.findall(version)]
    release = 0
    while release < len(parts) and parts[release][0] == _NUMBER:
        release += 1
    numbers = parts[:release]
    while numbers and numbers[-1] == (_NUMBER, 0):  # 1.0.0 is 1
        numbers.pop()
    return (*numbers, *parts[release:], (_END, 0))


def at_least(version: str, minimum: str) -> bool:
    """Whether ``version`` is ``minimum`` or later; False when no minimum is set."""
    return bool(minimum) and version_key(version) >= version_key(minimum)


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
        return "-" if self.ratio is None else percent(math.floor(self.ratio * 1000) / 1000)

    @property
    def threshold_display(self) -> str:
        return percent(self.threshold)

    def describe(self) -> str:
        """One sentence with the numbers, for guard messages."""
        if self.ratio is None:
            return f"no active users were recorded in the last {self.days} days (threshold {self.threshold_display})"
        return (
            f"adoption is {self.ratio_display} ({self.ready_users} of {self.active_users} active users in the last "
            f"{self.days} days), threshold {self.threshold_display}"
        )

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


def percent(value: float) -> str:
    """0.95 -> "95%", 0.951 -> "95.1%": exact to 0.1%, no trailing zeros."""
    return f"{round(value * 100, 1):g}%"


def ratio(ready: int, active: int) -> float | None:
    return None if active == 0 else ready / active


def version_shares(counts: Mapping[str, int], sends: Callable[[str], bool]) -> tuple[VersionShare, ...]:
    """Per-version users, newest version first."""
    return tuple(
        VersionShare(version, users, sends(version))
        for version, users in sorted(counts.items(), key=lambda item: version_key(item[0]), reverse=True)
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

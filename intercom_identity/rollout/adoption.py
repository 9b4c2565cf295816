"""Adoption: how many active users run an app version that sends the credential. Pure functions
over counts, fed by ``adoption()`` from the tallies ``activity`` keeps; days are UTC days."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from intercom_identity._internal.formatting import percent
from intercom_identity.conf import conf
from intercom_identity.models import AppVersion, PlatformConfig, VersionTally
from intercom_identity.rollout import versions

MINIMUM_VERSION, EVIDENCE = "minimum_version", "evidence"  # why a version counts as sending


@dataclass(frozen=True)
class EvidenceRule:
    """When a version counts as sending the credential (see the module docstring)."""

    share: float
    min_users: int
    min_sending_version: str = ""

    def counted_by(self, version: str, users: int, credential_users: int) -> str | None:
        """Why ``version`` counts as sending (``MINIMUM_VERSION`` or ``EVIDENCE``), or None.

        ``users`` are its active users, ``credential_users`` those of them seen receiving
        the credential on it.
        """
        if versions.at_least(version, self.min_sending_version):
            return MINIMUM_VERSION
        # Integer comparison: 19 of 20 users meets a share of 0.95 whatever the float rounding.
        needed = max(self.min_users, math.ceil(round(self.share * users, 9)))
        return EVIDENCE if users and credential_users >= needed else None

    @property
    def share_display(self) -> str:
        return percent(self.share)

    def as_dict(self) -> dict[str, Any]:
        return {"share": self.share, "min_users": self.min_users, "min_sending_version": self.min_sending_version}


@dataclass(frozen=True)
class VersionShare:
    """One version among the active users: how many are on it, how many of them were seen
    receiving the credential on it, and whether (and why) it counts as sending."""

    version: str
    users: int
    sends_credential: bool
    credential_users: int = 0
    counted_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "users": self.users,
            "credential_users": self.credential_users,
            "sends_credential": self.sends_credential,
            "counted_by": self.counted_by,
        }


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
    rule: EvidenceRule | None = None

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
            "evidence": None if self.rule is None else self.rule.as_dict(),
            "versions": [share.as_dict() for share in self.versions],
            "daily": [point.as_dict() for point in self.daily],
        }


def evidence_text(share: VersionShare, rule: EvidenceRule | None) -> str:
    """One version's verdict and its evidence, for people: the command and the overview."""
    seen = gettext("%(seen)d of %(users)d seen receiving it") % {"seen": share.credential_users, "users": share.users}
    if share.counted_by == MINIMUM_VERSION:
        return gettext("sends credential (minimum sending version %(minimum)s; %(seen)s)") % {
            "minimum": rule.min_sending_version if rule else "",
            "seen": seen,
        }
    if share.counted_by == EVIDENCE:
        return gettext("sends credential (%(seen)s)") % {"seen": seen}
    if rule:
        return gettext("no credential (%(seen)s; needs %(share)s of them and at least %(users)d)") % {
            "seen": seen,
            "share": rule.share_display,
            "users": rule.min_users,
        }
    return gettext("no credential (%(seen)s)") % {"seen": seen}


def ratio(ready: int, active: int) -> float | None:
    return None if active == 0 else ready / active


def version_shares(counts: Iterable[tuple[str, int, int]], rule: EvidenceRule) -> tuple[VersionShare, ...]:
    """Per-version shares from ``(version, users, credential_users)``, newest version first."""
    shares = []
    for version, users, credential_users in counts:
        counted_by = rule.counted_by(version, users, credential_users)
        shares.append(VersionShare(version, users, counted_by is not None, credential_users, counted_by))
    return tuple(sorted(shares, key=lambda share: versions.version_key(share.version), reverse=True))


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

    Each version is judged on the users whose latest activity in the window is on it.
    The daily series counts, each day, the users on versions judged sending now, from the
    day one of its requests was first handed a credential (or every day, for a version at
    or above the minimum); a version nobody is on any more is not judged, so counts as
    not sending. The guard and the audit only need the ratio (``with_daily=False``), which
    reads only tallies.
    """
    today = (now or timezone.now()).date()
    first_day = today - timedelta(days=days - 1)
    rule = EvidenceRule(conf.SENDING_EVIDENCE_SHARE, conf.SENDING_EVIDENCE_USERS, config.min_sending_version)
    tallies = VersionTally.objects.filter(
        environment_id=config.environment_id, platform=config.platform, day__gte=first_day
    )
    counts = (
        tallies.filter(kind=VersionTally.Kind.LATEST)
        .values_list("version")
        .annotate(users=Sum("users"), credential_users=Sum("credential_users"))
        .filter(users__gt=0)
        .order_by()
    )
    shares = version_shares(counts, rule)
    daily: tuple[Any, ...] = ()
    if with_daily:
        by_evidence = {share.version for share in shares if share.counted_by == EVIDENCE}
        credential_since = dict(
            AppVersion.objects.filter(
                environment_id=config.environment_id, platform=config.platform, version__in=by_evidence
            ).values_list("version", "first_credential_at")
        )

        def sends_on(version: str, day: date) -> bool:
            if versions.at_least(version, rule.min_sending_version):
                return True
            started = credential_since.get(version)
            return started is not None and started.date() <= day

        rows = tallies.filter(kind=VersionTally.Kind.DAILY, users__gt=0).values_list("day", "version", "users")
        daily = daily_points(rows, [first_day + timedelta(days=n) for n in range(days)], sends_on)
    return Adoption(
        environment=config.environment.slug,
        platform=config.platform,
        days=days,
        threshold=conf.ENFORCE_THRESHOLD,
        versions=shares,
        daily=daily,
        rule=rule,
    )

"""Adoption: how many active users run an app version that sends the credential, judged by
``EvidenceRule`` over the tallies ``activity`` keeps (days are UTC days). The rule, its reasons
and its limits: ``docs/rollout.md``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext

from intercom_identity._internal.formatting import percent
from intercom_identity.conf import conf
from intercom_identity.models import AppVersion, ClientActivity, Platform, PlatformConfig, RolloutPhase, VersionTally
from intercom_identity.rollout import versions

MINIMUM_VERSION, EVIDENCE = "minimum_version", "evidence"  # why a version counts as sending
NAMED_VERSIONS = 10  # a sentence names at most this many versions, then how many more


@dataclass(frozen=True)
class EvidenceRule:
    """When a version counts as sending the credential. Only the server's own issuance is evidence.

    A version counts when the declared minimum vouches for it, or when at least ``share`` of its
    active users (and at least ``min_users``) were seen receiving the credential on it; ``share``
    is never below the enforcement threshold, so accounts that claim an old version flip it only
    by outnumbering its real users by the threshold's odds (19 to 1 at 95%), and below that count
    for nothing. Web (``per_user``) has no version-wide verdict: each user counts on their own.
    """

    share: float
    min_users: int
    min_sending_version: str = ""
    per_user: bool = False  # web: each user counts on their own evidence, no version-wide verdict
    # Versions at or above the minimum whose users were seen, since the platform started handing
    # the credential out, without it (``covered_but_seen_without_credential``): what was seen
    # contradicts the minimum, so it does not vouch for them (only their evidence can), whenever
    # it was declared.
    seen_without_credential: frozenset[str] = frozenset()

    def vouches_for(self, version: str) -> bool:
        """Whether the declared minimum alone makes ``version`` count as sending."""
        return versions.at_least(version, self.min_sending_version) and version not in self.seen_without_credential

    def counted_by(self, version: str, users: int, credential_users: int) -> str | None:
        """Why ``version`` counts as sending (``MINIMUM_VERSION`` or ``EVIDENCE``), or None.

        ``users`` are its active users, ``credential_users`` those of them seen receiving
        the credential on it.
        """
        if self.vouches_for(version):
            return MINIMUM_VERSION
        if self.per_user:
            return None
        # Integer comparison: 19 of 20 users meets a share of 0.95 whatever the float rounding.
        needed = max(self.min_users, math.ceil(round(self.share * users, 9)))
        return EVIDENCE if users and credential_users >= needed else None

    @property
    def share_display(self) -> str:
        return percent(self.share)

    def as_dict(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "min_users": self.min_users,
            "min_sending_version": self.min_sending_version,
            "per_user": self.per_user,
            "seen_without_credential": sorted(self.seen_without_credential, key=versions.version_key),
        }


@dataclass(frozen=True)
class VersionShare:
    """One version among the active users: how many are on it, how many of them were seen
    receiving the credential on it, and whether (and why) it counts as sending."""

    version: str
    users: int
    sends_credential: bool
    credential_users: int = 0
    counted_by: str | None = None
    per_user: bool = False
    # At or above the minimum, which does not vouch for it: users were seen on it without the credential.
    seen_without_credential: bool = False

    @property
    def label(self) -> str:
        return client_label(self.version)

    @property
    def ready_users(self) -> int:
        """All its users when the version counts as sending; on web, else, those seen receiving it."""
        if self.sends_credential:
            return self.users
        return self.credential_users if self.per_user else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "users": self.users,
            "credential_users": self.credential_users,
            "ready_users": self.ready_users,
            "sends_credential": self.sends_credential,
            "counted_by": self.counted_by,
        }


@dataclass(frozen=True)
class Soak:
    """How long web has handed the credential out, against ``INTERCOM_IDENTITY_WEB_SOAK``: pages
    opened before it started are still open without it."""

    seconds: int
    sending_since: datetime | None
    now: datetime

    @property
    def remaining(self) -> int | None:
        """Seconds still to wait (0 once done); None while web is not sending at all."""
        if self.sending_since is None:
            return None
        return max(0, math.ceil(self.seconds - (self.now - self.sending_since).total_seconds()))

    @property
    def done(self) -> bool:
        return self.remaining == 0

    def describe(self) -> str:
        if self.sending_since is None:
            return gettext("web is not handing out the credential yet (it must for %(soak)s first)") % {
                "soak": duration(self.seconds)
            }
        if self.done:
            return gettext("web has handed out the credential for more than %(soak)s") % {
                "soak": duration(self.seconds)
            }
        return gettext("web must hand out the credential for %(soak)s first: %(left)s to go") % {
            "soak": duration(self.seconds),
            "left": duration(self.remaining or 0),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "sending_since": None if self.sending_since is None else self.sending_since.isoformat(),
            "remaining": self.remaining,
            "done": self.done,
        }


def duration(seconds: int) -> str:
    """``"24 h"``, ``"1 h 30 min"``, ``"45 s"``: a soak as people read it."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(part for part in parts if part) or "0 s"


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
    soak: Soak | None = None  # web only

    @property
    def active_users(self) -> int:
        return sum(share.users for share in self.versions)

    @property
    def ready_users(self) -> int:
        return sum(share.ready_users for share in self.versions)

    @property
    def ratio(self) -> float | None:
        """Ready / active, or None when nobody was active (no evidence either way)."""
        return ratio(self.ready_users, self.active_users)

    @property
    def meets_threshold(self) -> bool:
        """The share reaches the threshold, and (web) the soak is over."""
        if self.ratio is None or self.ratio < self.threshold:
            return False
        return self.soak is None or (self.soak.done and not self.pages_missing)

    @property
    def pages_missing(self) -> bool:
        """Web without a single page rendered by the tags and no declared minimum build: nothing
        but requests that name their own build, which any account can forge, says web is ready."""
        if self.soak is None or (self.rule is not None and self.rule.min_sending_version):
            return False
        return not any(share.version == versions.WEB_PAGE for share in self.versions)

    @property
    def not_vouched_for(self) -> list[str]:
        """Versions in use the declared minimum covers but does not count (``EvidenceRule``), newest first."""
        return [share.version for share in self.versions if share.seen_without_credential and not share.counted_by]

    def minimum_note(self) -> str:
        """Why the declared minimum does not count some versions in use; empty when it counts them all."""
        names = self.not_vouched_for
        if not names or self.rule is None:
            return ""
        if len(names) > NAMED_VERSIONS:
            more = gettext("and %(count)d more") % {"count": len(names) - NAMED_VERSIONS}
            names = [*names[:NAMED_VERSIONS], more]
        return gettext(
            "the minimum sending version %(minimum)s does not count %(versions)s: users of these versions were "
            "seen without the credential while it was being handed out"
        ) % {"minimum": self.rule.min_sending_version, "versions": ", ".join(names)}

    @property
    def ratio_display(self) -> str:
        """The ratio as a percentage rounded *down* to 0.1, so it never looks like it meets a threshold it misses."""
        return "-" if self.ratio is None else percent(self.ratio, round_down=True)

    @property
    def threshold_display(self) -> str:
        return percent(self.threshold)

    def describe(self) -> str:
        """One sentence with the numbers, for guard messages."""
        described = self._describe_share()
        if self.minimum_note():
            described += f"; {self.minimum_note()}"
        if self.soak is None:
            return described
        described += f"; {self.soak.describe()}"
        if self.pages_missing and self.ratio is not None:
            described += "; " + gettext(
                "no page rendered by the tags was recorded (a single-page app that does not render them: "
                "declare its minimum sending build)"
            )
        return described

    def _describe_share(self) -> str:
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
            "soak": None if self.soak is None else {**self.soak.as_dict(), "pages_missing": self.pages_missing},
            "versions": [share.as_dict() for share in self.versions],
            "daily": [point.as_dict() for point in self.daily],
        }


def evidence_text(share: VersionShare, rule: EvidenceRule | None) -> str:
    """One version's verdict and its evidence, for people: the command and the overview."""
    seen = gettext("%(seen)d of %(users)d seen receiving it") % {"seen": share.credential_users, "users": share.users}
    if share.seen_without_credential and share.counted_by is None and rule:
        seen = gettext(
            "%(seen)s; not counted by the minimum sending version %(minimum)s: users were seen on it without "
            "the credential while it was being handed out"
        ) % {"seen": seen, "minimum": rule.min_sending_version}
    if share.per_user and share.counted_by is None:
        return gettext("%(seen)s; each counts as ready on their own evidence") % {"seen": seen}
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


def client_label(version: str) -> str:
    """A version as people read it: the tags' web pages have no build number."""
    return gettext("pages (tags)") if version == versions.WEB_PAGE else version


def ratio(ready: int, active: int) -> float | None:
    return None if active == 0 else ready / active


def version_shares(counts: Iterable[tuple[str, int, int]], rule: EvidenceRule) -> tuple[VersionShare, ...]:
    """Per-version shares from ``(version, users, credential_users)``, newest version first."""
    shares = []
    for version, users, credential_users in counts:
        counted_by = rule.counted_by(version, users, credential_users)
        shares.append(
            VersionShare(
                version,
                users,
                counted_by is not None,
                credential_users,
                counted_by,
                per_user=rule.per_user,
                seen_without_credential=version in rule.seen_without_credential,
            )
        )
    return tuple(sorted(shares, key=lambda share: versions.version_key(share.version), reverse=True))


def daily_points(
    rows: Iterable[tuple[date, str, int, int]],
    days: Iterable[date],
    rule: EvidenceRule,
    credential_since: Mapping[str, datetime | None],
) -> tuple[DayPoint, ...]:
    """One point per day (days without activity included) from ``(day, version, users,
    credential_users)`` rows: each day's users, and those of them ready that day.

    A version the minimum vouches for counts whole every day; one judged sending on its evidence
    (``credential_since``: when it was first handed a credential) counts whole from that day on.
    Otherwise, on the web (no version-wide verdict), each user counts on their own evidence: the
    users handed the credential that day.
    """
    active: dict[date, int] = {}
    ready: dict[date, int] = {}
    for day, version, users, credential_users in rows:
        active[day] = active.get(day, 0) + users
        started = credential_since.get(version)
        if rule.vouches_for(version) or (started is not None and started.date() <= day):
            ready[day] = ready.get(day, 0) + users
        elif rule.per_user:
            ready[day] = ready.get(day, 0) + credential_users
    return tuple(DayPoint(day, active.get(day, 0), ready.get(day, 0)) for day in days)


def adoption(
    config: PlatformConfig, *, days: int = 30, now: datetime | None = None, with_daily: bool = True
) -> Adoption:
    """Adoption for one (environment, platform) over the last ``days`` days, with its daily series.

    Each version is judged on the users whose latest activity in the window is on it.
    The daily series (``daily_points``) counts, each day, the users on versions judged sending
    now, from the day one of its requests was first handed a credential (or every day, for a
    version the minimum vouches for), and on the web each user handed the credential that day;
    a version nobody is on any more is not judged, so counts as not sending. The guard and the
    audit only need the ratio (``with_daily=False``), which reads only tallies.
    """
    now = now or timezone.now()
    today = now.date()
    first_day = today - timedelta(days=days - 1)
    rule = evidence_rule(config)
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
        by_evidence = [share.version for share in shares if share.counted_by == EVIDENCE]
        credential_since = dict(
            AppVersion.objects.filter(
                environment_id=config.environment_id, platform=config.platform, version__in=by_evidence
            ).values_list("version", "first_credential_at")
            if by_evidence
            else ()
        )
        rows = tallies.filter(kind=VersionTally.Kind.DAILY, users__gt=0).values_list(
            "day", "version", "users", "credential_users"
        )
        daily = daily_points(rows, [first_day + timedelta(days=n) for n in range(days)], rule, credential_since)
    return Adoption(
        environment=config.environment.slug,
        platform=config.platform,
        days=days,
        threshold=conf.ENFORCE_THRESHOLD,
        versions=shares,
        daily=daily,
        rule=rule,
        soak=Soak(conf.WEB_SOAK, sending_since(config), now) if config.platform == Platform.WEB else None,
    )


def evidence_rule(config: PlatformConfig) -> EvidenceRule:
    """The rule ``config`` is judged by: a version-wide verdict needs at least the enforcement
    threshold's share of its users as evidence, so colluding accounts cannot carry real users;
    the declared minimum vouches only for versions nobody was seen on without the credential."""
    share = max(conf.SENDING_EVIDENCE_SHARE, conf.ENFORCE_THRESHOLD)
    return EvidenceRule(
        share,
        conf.SENDING_EVIDENCE_USERS,
        config.min_sending_version,
        per_user=config.platform == Platform.WEB,
        seen_without_credential=frozenset(covered_but_seen_without_credential(config, config.min_sending_version)),
    )


def sending_since(config: PlatformConfig) -> datetime | None:
    """Since when ``config`` has handed the credential out without a break; None while ``off``."""
    if config.phase == RolloutPhase.OFF:
        return None
    return config.sending_since or config.phase_changed_at


def covered_but_seen_without_credential(config: PlatformConfig, minimum: str) -> list[str]:
    """The versions ``minimum`` covers with users seen, since the platform started handing the
    credential out, without it (each user's latest activity): what was seen says they do not send
    it, whatever is declared. None without a minimum, or while ``off``.

    Read from the latest-activity tallies (an index read: the guard runs this), by the UTC day each
    user was last seen. Only the day the platform started sending began before it did: for the
    versions that day alone names, the activity rows themselves are asked.
    """
    since = sending_since(config)
    if not minimum or since is None:
        return []
    scope = {"environment_id": config.environment_id, "platform": config.platform}
    first_day = since.astimezone(dt_timezone.utc).date()
    without = VersionTally.objects.filter(
        **scope, kind=VersionTally.Kind.LATEST, day__gte=first_day, users__gt=F("credential_users")
    ).values_list("day", "version")
    seen: set[str] = set()
    doubtful: set[str] = set()
    for day, version in without:
        if versions.at_least(version, minimum):
            (seen if day > first_day else doubtful).add(version)
    if doubtful - seen:
        rows = ClientActivity.objects.filter(
            **scope, version__in=doubtful - seen, sent_credential=False, last_seen_at__gte=since
        )
        seen.update(rows.values_list("version", flat=True).order_by().distinct())
    return sorted(seen, key=versions.version_key)


def builds_in_use(config: PlatformConfig) -> bool:
    """Whether a minimum sending version means anything for ``config``: always on mobile; on web only
    once single-page-app builds (``X-App-Version``) were recorded, or one is already declared."""
    if config.platform != Platform.WEB or config.min_sending_version:
        return True
    return (
        AppVersion.objects.filter(environment_id=config.environment_id, platform=config.platform)
        .exclude(version=versions.WEB_PAGE)
        .exists()
    )

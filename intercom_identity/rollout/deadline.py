"""Where each production environment stands against Intercom's deadline (31 January 2027 by default).

Intercom's help article on authenticating Messenger users with JWTs (article 10589769) says that
after that date the Messenger recognises only users authenticated by JWT or identity verification:
everyone else is a logged-out visitor and loses their past conversations. This module lists, for
every served production environment, the platforms not yet enforced, the days left and the next
step for each; the overview, ``intercom_identity status`` and system check W019 show the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext

from intercom_identity.conf import conf
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from intercom_identity.rollout.adoption import Adoption, adoption

WINDOW_DAYS = 60  # the reminders start this many days before the deadline, and never stop after it
ARTICLE = "https://www.intercom.com/help/en/articles/10589769"


def served_environments() -> list[Environment]:
    """The environments this deployment serves (``INTERCOM_IDENTITY_ENVIRONMENT`` and
    ``INTERCOM_IDENTITY_SERVED_ENVIRONMENTS``) that have a row."""
    return list(Environment.objects.filter(slug__in=conf.served_environments()).prefetch_related("platforms"))


def served_production_environments() -> list[Environment]:
    """The served environments that are production: the ones whose users the deadline locks out."""
    return [environment for environment in served_environments() if environment.is_production]


@dataclass(frozen=True)
class PlatformStanding:
    """One platform not yet enforced: where it is, its adoption and the move it needs next."""

    config: PlatformConfig
    readiness: Adoption | None  # None for a platform in phase off (nothing handed out to measure)
    next_phase: str

    @property
    def environment(self) -> str:
        return self.config.environment.slug

    @property
    def platform(self) -> str:
        return self.config.platform

    @property
    def next_step(self) -> str:
        """The next step, as a person does it (the command; the admin has the same buttons)."""
        env, platform = self.environment, self.platform
        if not self.config.has_secret:
            return gettext(
                "store a secret (`manage.py intercom_identity create-secret %(env)s %(platform)s`), "
                "then move to 'sending'"
            ) % {"env": env, "platform": platform}
        if self.next_phase == RolloutPhase.SENDING:
            return gettext("move to 'sending' (`manage.py intercom_identity phase %(env)s %(platform)s sending`)") % {
                "env": env,
                "platform": platform,
            }
        assert self.readiness is not None  # noqa: S101 - a sending platform is measured
        if self.readiness.meets_threshold:
            return gettext(
                "adoption %(ratio)s meets the threshold %(threshold)s: move to 'enforced' "
                "(`manage.py intercom_identity phase %(env)s %(platform)s enforced`)"
            ) % {
                "ratio": self.readiness.ratio_display,
                "threshold": self.readiness.threshold_display,
                "env": env,
                "platform": platform,
            }
        return gettext(
            "adoption %(ratio)s is below the threshold %(threshold)s: ship an app version that sends the "
            "credential, then move to 'enforced'"
        ) % {"ratio": self.readiness.ratio_display, "threshold": self.readiness.threshold_display}

    def as_dict(self) -> dict[str, str | float | None]:
        return {
            "environment": self.environment,
            "platform": self.platform,
            "phase": self.config.phase,
            "adoption": self.readiness.ratio if self.readiness else None,
            "next_phase": self.next_phase,
            "next_step": self.next_step,
        }


@dataclass(frozen=True)
class DeadlineStanding:
    """The deadline, today, and the platforms still to enforce."""

    deadline: date
    today: date
    platforms: tuple[PlatformStanding, ...]

    @property
    def days_left(self) -> int:
        """Days from today to the deadline (0 on the day, negative after it)."""
        return (self.deadline - self.today).days

    @property
    def in_window(self) -> bool:
        """Whether the reminders are on: the last ``WINDOW_DAYS`` days, the day itself and every day after."""
        return self.days_left <= WINDOW_DAYS

    @property
    def passed(self) -> bool:
        return self.days_left < 0

    @property
    def summary(self) -> str:
        if self.passed:
            return gettext(
                "Intercom's deadline (%(date)s) passed %(days)d day(s) ago: users of platforms not enforced are "
                "treated as logged-out visitors and lose their past conversations."
            ) % {"date": self.deadline.isoformat(), "days": -self.days_left}
        return gettext(
            "%(days)d day(s) left until Intercom's deadline (%(date)s): after it the Messenger recognises only "
            "users authenticated by JWT or identity verification."
        ) % {"date": self.deadline.isoformat(), "days": self.days_left}

    def line(self, standing: PlatformStanding) -> str:
        """One platform, as the command and the system check print it."""
        return gettext("%(env)s %(platform)s is in phase '%(phase)s': %(step)s.") % {
            "env": standing.environment,
            "platform": standing.platform,
            "phase": standing.config.phase,
            "step": standing.next_step,
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "deadline": self.deadline.isoformat(),
            "days_left": self.days_left,
            "platforms": [standing.as_dict() for standing in self.platforms],
        }


def deadline_standing(*, today: date | None = None, always: bool = False) -> DeadlineStanding | None:
    """The standing of every served production environment, or None when the reminders are off
    (INTERCOM_IDENTITY_DEADLINE = None) or, unless ``always``, before their window."""
    deadline = conf.DEADLINE
    if deadline is None:
        return None
    today = today or timezone.now().date()  # UTC: the day Intercom's date is
    if not always and (deadline - today).days > WINDOW_DAYS:
        return None
    platforms = []
    for environment in served_production_environments():
        for config in environment.platforms.all():
            if config.phase == RolloutPhase.ENFORCED:
                continue
            off = config.phase == RolloutPhase.OFF
            platforms.append(
                PlatformStanding(
                    config=config,
                    readiness=None if off else adoption(config, with_daily=False),
                    next_phase=RolloutPhase.SENDING if off else RolloutPhase.ENFORCED,
                )
            )
    return DeadlineStanding(deadline=deadline, today=today, platforms=tuple(platforms))

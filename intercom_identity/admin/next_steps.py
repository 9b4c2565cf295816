"""What a user can do next with a configuration: the changes that can succeed, and for the
rest, why not and the step that unblocks it (the rules are ``rollout.changes.preview``'s)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext

from intercom_identity.admin.transitions import Transition
from intercom_identity.constants import MANAGE_PRODUCTION
from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.permissions import can_manage
from intercom_identity.rollout.changes import Preview, preview


@dataclass(frozen=True)
class Step:
    """A change this user can make now: a button to its confirmation page."""

    transition: Transition
    label: str
    url: str


@dataclass(frozen=True)
class Blocker:
    """One row that stops a change: why (``reason``), and what to do about it (``step``, at ``url``)."""

    config: PlatformConfig | None  # None: not one row's (e.g. syncing a whole environment)
    reason: str
    step: str
    url: str | None = None


def ask_an_administrator() -> str:
    """The step that unblocks a missing permission (a function: read in the request's language)."""
    return gettext("ask an administrator to grant it")


def production_permission_name() -> str:
    """The manage-production permission as the user and group pages list it (translated)."""
    return str(dict(Environment._meta.permissions)[MANAGE_PRODUCTION])


def missing_permission(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, environment: Environment) -> str | None:
    """The permission ``request.user`` lacks to change what ``environment`` holds, named; None when
    nothing is missing."""
    if not modeladmin.has_change_permission(request):
        return gettext("needs the “Can change platform configuration” permission")
    if not can_manage(request.user, environment):
        return gettext("needs the manage-production permission (“%(name)s”)") % {"name": production_permission_name()}
    return None


def permission_blocker(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, config: PlatformConfig
) -> Blocker | None:
    """Why ``request.user`` may not change ``config``, naming the permission that is missing."""
    if modeladmin.has_change_permission(request, config):
        return None
    reason = missing_permission(modeladmin, request, config.environment) or gettext("needs a change permission")
    return Blocker(config, reason, ask_an_administrator())


def secret_blocker(config: PlatformConfig) -> Blocker:
    """A configuration with no secret cannot leave ``off``: the step is its own form's secret field."""
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk]) + "#id_new_secret"
    return Blocker(config, gettext("no secret yet"), gettext("set it"), url)


def blockers(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, configs: Iterable[PlatformConfig], plan: Preview
) -> list[Blocker]:
    """Every row of ``plan`` that stops it, once each: a missing permission first (without it no
    other step is open to this user), else a secret the target needs."""
    missing_secret = {config.pk for config in plan.missing_secret}
    found = []
    for config in configs:
        blocker = permission_blocker(modeladmin, request, config)
        if blocker is None and config.pk in missing_secret:
            blocker = secret_blocker(config)
        if blocker is not None:
            found.append(blocker)
    return found


def transition_url(config: PlatformConfig, transition: Transition) -> str:
    """The confirmation page of ``transition`` for ``config``."""
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])
    return f"{url}?{urlencode({'to': transition.key})}"


def offered_steps(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    config: PlatformConfig,
    transitions: Iterable[Transition],
) -> tuple[list[Step], Blocker | None]:
    """The buttons to show for ``config`` among ``transitions``, and what blocks the others:
    without the permission nothing is offered; without a secret, only what needs none."""
    blocker = permission_blocker(modeladmin, request, config)
    if blocker is not None:
        return [], blocker
    steps = []
    for transition in transitions:
        if preview([config], transition.target).missing_secret:
            blocker = secret_blocker(config)
            continue
        current = str(getattr(config, transition.field))
        steps.append(Step(transition, transition.step_label(current), transition_url(config, transition)))
    return steps, blocker

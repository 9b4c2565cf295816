"""admin/next_steps.py: the changes a user can make to a configuration now, and for the others
what blocks them and the step that unblocks it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.test import RequestFactory

from intercom_identity.admin.next_steps import blockers, offered_steps
from intercom_identity.admin.transitions import TRANSITIONS
from intercom_identity.models import PlatformConfig, RolloutPhase
from intercom_identity.rollout.changes import preview
from tests.helpers import config_of, configure

pytestmark = pytest.mark.django_db

ADMIN = admin.site.get_model_admin(PlatformConfig)
OFF, SENDING, ENFORCED, JWT = (
    TRANSITIONS[key] for key in ("phase:off", "phase:sending", "phase:enforced", "credential_mode:jwt")
)


def request_of(*codenames: str, superuser: bool = False) -> HttpRequest:
    model = get_user_model()
    user: Any = model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True, is_superuser=superuser)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="intercom_identity", codename__in=codenames)
    )
    request = RequestFactory().get("/admin/")
    request.user = model.objects.get(pk=user.pk)  # permissions are cached per instance: read them fresh
    return request


def test_a_configuration_with_a_secret_offers_a_button_each_way() -> None:
    config = configure("development", "ios", RolloutPhase.SENDING)
    steps, blocker = offered_steps(ADMIN, request_of(superuser=True), config, [OFF, ENFORCED])
    assert blocker is None
    assert [(step.transition, step.label) for step in steps] == [(OFF, "\u2190 Off"), (ENFORCED, "Enforced \u2192")]
    assert steps[1].url == f"/admin/intercom_identity/platformconfig/{config.pk}/transition/?to=phase%3Aenforced"


def test_without_a_secret_only_what_needs_none_is_offered_and_the_secret_field_is_the_step() -> None:
    config = config_of("development", "android")
    steps, blocker = offered_steps(ADMIN, request_of(superuser=True), config, [SENDING, ENFORCED, JWT])
    assert [step.transition for step in steps] == [JWT]
    assert blocker is not None
    assert (blocker.config, blocker.reason, blocker.step) == (config, "no secret yet", "set it")
    assert blocker.url == f"/admin/intercom_identity/platformconfig/{config.pk}/change/#id_new_secret"


def test_without_the_change_permission_nothing_is_offered_and_an_administrator_is_the_step() -> None:
    config = configure("development", "ios", RolloutPhase.SENDING)
    steps, blocker = offered_steps(ADMIN, request_of("view_platformconfig"), config, [OFF, ENFORCED])
    assert steps == []
    assert blocker is not None
    assert blocker.reason == "needs the \u201cCan change platform configuration\u201d permission"
    assert (blocker.step, blocker.url) == ("ask an administrator to grant it", None)


def test_production_needs_the_manage_production_permission_named() -> None:
    config = configure("production", "ios", RolloutPhase.SENDING)
    request = request_of("view_platformconfig", "change_platformconfig")
    steps, blocker = offered_steps(ADMIN, request, config, [OFF])
    assert steps == []
    assert blocker is not None
    assert blocker.reason == (
        "needs the manage-production permission (\u201cCan change secrets and phases of production environments\u201d)"
    )
    assert offered_steps(ADMIN, request, configure("development", "ios", RolloutPhase.SENDING), [OFF])[1] is None


def test_blockers_name_each_row_once_the_permission_before_the_secret() -> None:
    production = config_of("production", "web")  # no secret, and no permission for it
    development = config_of("development", "web")  # no secret
    ready = configure("development", "ios")  # a secret: nothing blocks it
    configs = [production, development, ready]
    request = request_of("view_platformconfig", "change_platformconfig")
    found = blockers(ADMIN, request, configs, preview(configs, "sending"))
    assert [(blocker.config, blocker.step) for blocker in found] == [
        (production, "ask an administrator to grant it"),
        (development, "set it"),
    ]

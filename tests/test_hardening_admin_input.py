"""Tampered admin requests get a 400 or a message, never a 500 (found by the adversarial pass).

PostgreSQL refuses a NUL byte in any query parameter, so a changelist filter value holding one
was a 500 there; a posted action selection with an id that is no number was a 500 everywhere.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from intercom_identity.models import PlatformConfig, RolloutPhase
from tests.conftest import configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> Client:
    configure("development", "ios", RolloutPhase.SENDING)
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("platformconfig", "phase__exact"),
        ("platformconfig", "environment__id__exact"),
        ("auditevent", "environment"),
        ("auditevent", "kind__exact"),
        ("environment", "is_production__exact"),
    ],
)
def test_a_nul_in_a_filter_value_is_a_400(root: Client, model: str, lookup: str) -> None:
    response = root.get(reverse(f"admin:intercom_identity_{model}_changelist"), {lookup: "a\x00b"})
    assert response.status_code == 400


@pytest.mark.parametrize("selected", ["x", "1\x00", "1.5", ""])
def test_an_action_on_ids_that_are_no_ids_changes_nothing(root: Client, selected: str) -> None:
    response = root.post(
        reverse("admin:intercom_identity_platformconfig_changelist"),
        {"action": "move_to_off", "_selected_action": [selected]},
        follow=True,
    )
    assert response.status_code == 200
    assert PlatformConfig.objects.get(environment__slug="development", platform="ios").phase == RolloutPhase.SENDING

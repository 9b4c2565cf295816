"""The permission matrix: who may see and do what in the admin, for every page, action and check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase
from tests.helpers import configure, staff_client

pytestmark = pytest.mark.django_db

DEV_PERMS = (
    "view_platformconfig",
    "change_platformconfig",
    "view_environment",
    "change_environment",
    "view_auditevent",
)
NEW_SECRET = "matrix-secret-00112233445566778899aabbccdd"


def client_for(role: str) -> Client:
    if role == "anonymous":
        return Client()
    if role == "superuser":
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
        return client
    perms = {"nobody": (), "development": DEV_PERMS, "production": (*DEV_PERMS, "manage_production")}[role]
    return staff_client(f"staff-{role}", *perms)


def config(env: str) -> PlatformConfig:
    return PlatformConfig.objects.get(environment__slug=env, platform="ios")


def outcome(response: Any) -> str:
    if response.status_code == 302 and "/admin/login/" in response["Location"]:
        return "login"
    return {200: "ok", 302: "ok", 403: "forbidden", 404: "missing"}.get(response.status_code, str(response.status_code))


def see(url: Callable[[], str]) -> Callable[[Client], str]:
    return lambda client: outcome(client.get(url()))


def change_secret(env: str) -> Callable[[Client], str]:
    def act(client: Client) -> str:
        before = config(env).secret_fingerprint
        result = outcome(
            client.post(
                reverse("admin:intercom_identity_platformconfig_change", args=[config(env).pk]),
                {"new_secret": NEW_SECRET},
            )
        )
        return "changed" if config(env).secret_fingerprint != before else result

    return act


def move_phase(env: str, *, via_action: bool) -> Callable[[Client], str]:
    def act(client: Client) -> str:
        if via_action:
            response = client.post(
                reverse("admin:intercom_identity_platformconfig_changelist"),
                {"action": "move_to_sending", "_selected_action": [config(env).pk], "confirm": "yes"},
            )
        else:
            url = reverse("admin:intercom_identity_platformconfig_transition", args=[config(env).pk])
            response = client.post(url, {"transition": "phase:sending", "confirm": "yes"})
        if config(env).phase == RolloutPhase.SENDING:
            return "changed"
        return "unchanged" if outcome(response) == "ok" else outcome(response)  # refused with a message

    return act


def edit_environment(env: str) -> Callable[[Client], str]:
    def act(client: Client) -> str:
        environment = Environment.objects.get(slug=env)
        url = reverse("admin:intercom_identity_environment_change", args=[environment.pk])
        response = client.post(
            url, {"label": "Renamed", "app_id": "x1", "platforms-TOTAL_FORMS": "0", "platforms-INITIAL_FORMS": "0"}
        )
        return "changed" if Environment.objects.get(slug=env).label == "Renamed" else outcome(response)

    return act


def check_credential(client: Client) -> str:
    response = client.post(
        reverse("admin:intercom_identity_platformconfig_check"),
        {"environment": "production", "platform": "ios", "user_id": "1", "user_hash": "00" * 32},
    )
    if response.status_code == 200 and 'data-reason="mismatch"' in response.content.decode():
        return "checked"
    return outcome(response)


def edit_audit(client: Client) -> str:
    event = AuditEvent.objects.first()
    assert event is not None
    response = client.post(reverse("admin:intercom_identity_auditevent_change", args=[event.pk]), {"reason": "x"})
    return "changed" if AuditEvent.objects.get(pk=event.pk).reason == "x" else outcome(response)


CASES: dict[str, Callable[[Client], str]] = {
    "configuration list": see(lambda: reverse("admin:intercom_identity_platformconfig_changelist")),
    "development page": see(
        lambda: reverse("admin:intercom_identity_platformconfig_change", args=[config("development").pk])
    ),
    "production page": see(
        lambda: reverse("admin:intercom_identity_platformconfig_change", args=[config("production").pk])
    ),
    "overview": see(lambda: reverse("admin:intercom_identity_platformconfig_overview")),
    "audit list": see(lambda: reverse("admin:intercom_identity_auditevent_changelist")),
    "check page": see(lambda: reverse("admin:intercom_identity_platformconfig_check")),
    "check a credential": check_credential,
    "development secret": change_secret("development"),
    "production secret": change_secret("production"),
    "development phase button": move_phase("development", via_action=False),
    "production phase button": move_phase("production", via_action=False),
    "development phase action": move_phase("development", via_action=True),
    "production phase action": move_phase("production", via_action=True),
    "development environment": edit_environment("development"),
    "production environment": edit_environment("production"),
    "edit the audit trail": edit_audit,
}

ROLES = ("anonymous", "nobody", "development", "production", "superuser")
L, F, OK, CHANGED = "login", "forbidden", "ok", "changed"
# case -> expected outcome for each role, in the order of ROLES
MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    "configuration list": (L, F, OK, OK, OK),
    "development page": (L, F, OK, OK, OK),
    "production page": (L, F, OK, OK, OK),  # read-only without the production permission
    "overview": (L, F, OK, OK, OK),
    "audit list": (L, F, OK, OK, OK),
    "check page": (L, F, OK, OK, OK),
    "check a credential": (L, F, "checked", "checked", "checked"),
    "development secret": (L, F, CHANGED, CHANGED, CHANGED),
    "production secret": (L, F, F, CHANGED, CHANGED),
    "development phase button": (L, F, CHANGED, CHANGED, CHANGED),
    "production phase button": (L, F, F, CHANGED, CHANGED),
    "development phase action": (L, F, CHANGED, CHANGED, CHANGED),
    "production phase action": (L, F, "unchanged", CHANGED, CHANGED),
    "development environment": (L, F, CHANGED, CHANGED, CHANGED),
    "production environment": (L, F, F, CHANGED, CHANGED),
    "edit the audit trail": (L, F, F, F, F),  # nobody, superusers included
}


def test_the_matrix_covers_every_case() -> None:
    assert set(MATRIX) == set(CASES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", list(CASES))
def test_permission_matrix(role: str, case: str) -> None:
    configure("development", "ios")
    configure("production", "ios")  # both have a secret (and so an audit row); both are off
    client = client_for(role)
    assert CASES[case](client) == MATRIX[case][ROLES.index(role)]

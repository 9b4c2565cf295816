"""docs/rollout.md: every code example runs as printed."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
from django.test import RequestFactory, override_settings

from intercom_identity.models import AuditEvent, ClientActivity, RolloutPhase
from tests.helpers import TWO_WORKSPACES, configure, fenced_blocks, run, users

pytestmark = pytest.mark.django_db

DOC = "rollout.md"


def documented_login_view() -> Any:
    """The page's login view, compiled from its one Python block as printed."""
    (source,) = fenced_blocks(DOC, "python")
    namespace: dict[str, Any] = {}
    exec(compile(source, DOC, "exec"), namespace)  # noqa: S102 - the documentation's own example
    return namespace["login_view"]


def test_the_login_view_example_records_what_it_hands_out() -> None:
    login_view = documented_login_view()
    configure("development", "ios", RolloutPhase.SENDING)
    asks, too_old = users(2, "doc")
    factory = RequestFactory()
    request = factory.get("/login", headers={"X-App-Version": "5.2.0", "X-Wants-Intercom": "1"})
    request.user = asks
    assert b'"user_hash": "' in login_view(request, "ios").content
    request = factory.get("/login", headers={"X-App-Version": "1.4.2"})
    request.user = too_old
    assert login_view(request, "ios").content == b'{"intercom": null}'
    recorded = dict(ClientActivity.objects.values_list("version", "sent_credential"))
    assert recorded == {"5.2.0": True, "1.4.2": False}


@pytest.mark.parametrize("asks", ["1", "0"])
def test_the_login_view_example_serves_the_requests_environment(asks: str) -> None:
    login_view = documented_login_view()
    configure("development", "ios", RolloutPhase.SENDING)
    (user,) = users(1, "doc")
    factory = RequestFactory()
    with override_settings(**TWO_WORKSPACES):  # production by default; development for the header
        for environment in ("development", "staging"):
            headers = {"X-App-Version": "5.2.0", "X-Wants-Intercom": asks, "X-Intercom-Environment": environment}
            request = factory.get("/login", headers=headers)
            request.user = user
            response = login_view(request, "ios")
            assert response.status_code == (200 if environment == "development" else 400)
    assert json.loads(response.content)["error"] == "unknown_environment"
    assert list(ClientActivity.objects.values_list("environment__slug", "version")) == [("development", "5.2.0")]


def test_every_command_runs_as_printed() -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    configure("development", "web", RolloutPhase.OFF)
    lines = [line for block in fenced_blocks(DOC, "sh") for line in block.splitlines() if line.strip()]
    assert len(lines) == 6
    for line in lines:
        python, manage, command, *arguments = shlex.split(line)
        assert (python, manage, command) == ("python", "manage.py", "intercom_identity")
        run(*arguments)
    kinds = list(AuditEvent.objects.order_by("created_at", "id").values_list("kind", "forced"))
    assert ("min_sending_version", False) in kinds
    assert ("phase", False) in kinds

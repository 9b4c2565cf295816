"""``docs/secrets.md``: every example runs exactly as printed (the shell lines through ``call_command``, the
Python blocks with ``exec``), against the local Intercom."""

from __future__ import annotations

import re

import pytest

from intercom_identity.models import AuditEvent, WorkspaceSnapshot
from tests.helpers import DOCS, config_of, fenced_blocks, manage_py
from tests.intercom_fake import FakeIntercom

pytestmark = pytest.mark.django_db

CRON_FIELD = re.compile(r"^(\*|\d+)$")


def test_provisioning_then_rotation_as_documented(intercom: FakeIntercom) -> None:
    intercom.secrets()
    provision, rotation, _cron, _enqueue = fenced_blocks("secrets.md", "sh")
    for line in provision.splitlines():
        manage_py(line)
    first = config_of("production", "ios")
    assert first.intercom_secret_id
    for line in rotation.splitlines():
        manage_py(line)
    config = config_of("production", "ios")
    assert config.intercom_secret_id != first.intercom_secret_id
    assert config.previous_intercom_secret_id == ""  # retired (forced, with the documented reason)
    assert AuditEvent.objects.filter(reason="rotation drill", forced=True).exists()


def run_cron_lines(block: str) -> None:
    """Each line is five cron fields, then ``cd DIR && python manage.py ...``: the command runs as printed."""
    for line in block.splitlines():
        fields, command = line.split(maxsplit=5)[:5], line.split(maxsplit=5)[5]
        assert all(CRON_FIELD.match(field) for field in fields), line
        directory, manage = command.split(" && ")
        assert directory.startswith("cd ")
        manage_py(manage)


def test_the_cron_lines_are_cron_and_their_commands_run(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False)
    _provision, _rotation, cron, _enqueue = fenced_blocks("secrets.md", "sh")
    run_cron_lines(cron)
    assert WorkspaceSnapshot.objects.get(environment__slug="production").fetched_at is not None


def test_the_cron_lines_that_enqueue_the_tasks_run(intercom: FakeIntercom) -> None:
    """The test settings' backend runs a task when it is enqueued: the sync and the pruning happen."""
    intercom.answer(identity_verification=False)
    *_, enqueue = fenced_blocks("secrets.md", "sh")
    assert [line.split(maxsplit=5)[:5] for line in enqueue.splitlines()] == [
        ["0", "*", "*", "*", "*"],
        ["30", "3", "*", "*", "*"],
    ]
    run_cron_lines(enqueue)
    assert WorkspaceSnapshot.objects.get(environment__slug="production").fetched_at is not None
    assert intercom.secrets().calls  # the sync task listed the secrets too


def test_the_page_says_the_tasks_framework_has_no_scheduler() -> None:
    text = " ".join((DOCS / "secrets.md").read_text("utf-8").split())
    assert "Django's tasks framework has no periodic scheduler" in text


def test_the_tasks_example_runs(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False)
    [example] = fenced_blocks("secrets.md", "python")
    exec(example, {})  # noqa: S102 - the documentation's own example
    assert intercom.secrets().calls  # the sync ran, secrets list included


def test_the_drift_table_documents_every_new_code() -> None:
    from intercom_identity.workspace.drift import (
        NO_SECRET_IN_INTERCOM,
        OLD_SECRET_NOT_RETIRED,
        STORED_SECRET_NOT_IN_INTERCOM,
    )

    text = (DOCS / "secrets.md").read_text("utf-8")
    for code in (STORED_SECRET_NOT_IN_INTERCOM, NO_SECRET_IN_INTERCOM, OLD_SECRET_NOT_RETIRED):
        assert f"| `{code}` |" in text

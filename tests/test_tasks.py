"""The workspace sync and prune-activity as tasks (django.tasks on Django 6.0+, the django-tasks
backport on 5.2), run by the immediate backend."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from intercom_identity import tasks
from tests.intercom_fake import FakeIntercom

pytestmark = pytest.mark.django_db


def test_a_tasks_framework_is_found() -> None:
    assert tasks.TASKS_AVAILABLE
    assert hasattr(tasks.sync_workspace, "enqueue")
    assert hasattr(tasks.prune_activity, "enqueue")


def test_the_sync_task_syncs_and_returns_the_drift_codes(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=True, id_code="other")
    result = tasks.sync_workspace.enqueue("production")
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {
        "environment": "production",
        "drift": ["app_id_mismatch", "intercom_enforces_unrecorded"],
    }


def test_the_sync_task_fails_with_the_reason_when_intercom_cannot_be_read(intercom: FakeIntercom) -> None:
    result = tasks.sync_workspace.enqueue("production")  # no answer registered: Intercom fails
    assert result.status == "FAILED"
    assert result.errors[0].exception_class.__name__ == "WorkspaceUnavailable"


def test_the_prune_task_prunes() -> None:
    result = tasks.prune_activity.enqueue(dry_run=True)
    assert result.status == "SUCCESSFUL"
    assert "would remove" in result.return_value["report"]


def test_without_a_framework_the_functions_stay_plain(monkeypatch: Any) -> None:
    def missing(name: str) -> Any:
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", missing)
    assert tasks._task_decorator() is None

"""The workspace sync and ``prune-activity`` as tasks of Django's tasks framework, where one is
installed; a worker imports each by its dotted path (``intercom_identity.tasks.sync_workspace``).
How to schedule them: docs/secrets.md, "Scheduling the sync and the pruning"."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _task_decorator() -> Callable[..., Any] | None:
    """Django's ``task`` decorator (``django.tasks``), else the backport's (``django_tasks``), else None."""
    for module in ("django.tasks", "django_tasks"):
        try:
            return importlib.import_module(module).task  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    return None


_task = _task_decorator()
TASKS_AVAILABLE = _task is not None


def _as_task(function: Callable[..., Any]) -> Any:
    """``function`` as a task where a tasks framework is installed (``django.tasks`` on Django 6.0+,
    the ``django-tasks`` backport, ``pip install "intercom-identity[tasks]"``, on 5.2); else the plain
    function, and cron runs the management command instead."""
    return _task(function) if _task is not None else function


@_as_task
def sync_workspace(environment: str) -> dict[str, Any]:
    """``manage.py intercom_identity workspace ENV``: sync with Intercom; returns the drift codes found.

    Raises ``WorkspaceUnavailable`` when Intercom cannot be read (the task then fails, with its reason)."""
    from intercom_identity.workspace import sync

    result = sync.sync(environment)
    return {"environment": result["environment"], "drift": [finding["code"] for finding in result["drift"]]}


@_as_task
def prune_activity(dry_run: bool = False) -> dict[str, Any]:
    """``manage.py intercom_identity prune-activity``: delete activity older than the retention period."""
    from intercom_identity.rollout.retention import prune_activity as prune

    return {"report": prune(dry_run=dry_run).describe()}

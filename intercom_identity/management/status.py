"""Read-only views of the state as plain data: the status matrix and the audit trail
(what the command prints as JSON)."""

from __future__ import annotations

from typing import Any

from intercom_identity.conf import conf
from intercom_identity.models import AuditEvent, Environment


def serving(slug: str) -> str:
    """How this deployment serves an environment: ``"default"``, ``"served"`` or ``"records_only"``."""
    if slug == conf.ENVIRONMENT:
        return "default"
    return "served" if slug in conf.served_environments() else "records_only"


def status_matrix() -> dict[str, dict[str, dict[str, str | None]]]:
    """``{environment: {platform: {"phase", "credential", "fingerprint", "secret_set_at", "secret_source",
    "served"}}}``, no secret material. ``served`` is ``serving()``: whether this deployment hands out
    the row's credentials, or only keeps its records."""
    return {
        environment.slug: {
            config.platform: {
                "phase": config.phase,
                "credential": config.credential_mode,
                "fingerprint": config.fingerprint or None,
                "secret_set_at": (
                    config.secret_set_at.isoformat()
                    if config.secret_set_at and not config.managed_by_settings
                    else None
                ),
                "secret_source": "settings"
                if config.managed_by_settings
                else ("database" if config.has_secret else None),
                "served": serving(environment.slug),
            }
            for config in environment.platforms.all()
        }
        for environment in Environment.objects.prefetch_related("platforms").order_by("slug")
    }


def audit_history(*, environment: str | None = None, platform: str | None = None) -> list[dict[str, Any]]:
    """The audit trail, newest first."""
    events = AuditEvent.objects.all()
    if environment:
        events = events.filter(environment=environment)
    if platform:
        events = events.filter(platform=platform)
    return [
        {
            "at": event.created_at.isoformat(),
            "actor": event.actor_label,
            "environment": event.environment,
            "platform": event.platform,
            "kind": event.kind,
            "from": event.from_value,
            "to": event.to_value,
            "adoption_ratio": event.adoption_ratio,
            "reason": event.reason,
            "forced": event.forced,
        }
        for event in events
    ]

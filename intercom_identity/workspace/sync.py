"""Workspace truth: ``sync`` reads the workspace, stores what it said and the activity log
entries that matter, and returns the report; everything else here judges what is stored, so
pages and checks never call the network."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.conf import conf
from intercom_identity.exceptions import SecretUnavailable
from intercom_identity.models import AuditEvent, Environment, WorkspaceEvent, WorkspaceSnapshot
from intercom_identity.selectors import get_environment
from intercom_identity.workspace.client import (
    DEADLINE_SECONDS,
    SecretsApi,
    WorkspaceUnavailable,
    base_url_for,
    read_workspace,
    require_sdk,
)
from intercom_identity.workspace.drift import (
    SECRET_EVENT_TYPES,
    Finding,
    IntercomEvent,
    ObservedWorkspace,
    RecordedPlatform,
    find_drift,
    secrets_from_json,
)

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("intercom_identity.workspace")

FIRST_SYNC_LOOKBACK = timedelta(days=30)
# An entry can reach the log a little after it happened: each sync reads a little before the last.
SYNC_OVERLAP = timedelta(minutes=10)
REPORT_EVENTS = 100


class NoApiToken(WorkspaceUnavailable):
    """The environment has no Intercom access token, stored or from settings."""


@sensitive_variables()
def api_token(environment: Environment) -> str:
    """The token to read ``environment``'s workspace with; ``NoApiToken`` or ``WorkspaceUnavailable``."""
    try:
        token = environment.api_token()
    except SecretUnavailable:
        raise WorkspaceUnavailable(
            gettext(
                "The stored API token of %(env)s cannot be decrypted with the configured keys: "
                "restore the key, or store the token again (`manage.py intercom_identity set-api-token %(env)s`)."
            )
            % {"env": environment.slug}
        ) from None
    if token is None:
        raise NoApiToken(
            gettext(
                "%(env)s has no Intercom API token: store one (`manage.py intercom_identity set-api-token %(env)s`) "
                "or set INTERCOM_IDENTITY_API_TOKENS."
            )
            % {"env": environment.slug}
        )
    return token


def base_url(environment: Environment) -> str:
    """The REST API URL for the environment: INTERCOM_IDENTITY_API_BASE_URL, else its region's."""
    return base_url_for(environment.region, conf.API_BASE_URL)


@sensitive_variables()
def sync(
    environment: Environment | str,
    *,
    now: datetime | None = None,
    deadline: float = DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Read the workspace, store the snapshot and new events, and return ``report()``.

    The log is read since the last successful sync (less ``SYNC_OVERLAP``), or over the
    last 30 days the first time. A failure is remembered on the snapshot (when, and the
    reason) and raised as ``WorkspaceUnavailable``; what an earlier sync stored is kept.
    Intercom is read outside any transaction, so no row stays locked while it answers;
    ``deadline`` bounds the read in seconds (shorter for a web request).
    """
    started = time.monotonic()  # the deadline bounds the whole sync, the secrets' list included
    env = get_environment(environment)
    now = now or timezone.now()
    snapshot = WorkspaceSnapshot.objects.filter(environment=env).first()
    last = snapshot.fetched_at if snapshot is not None else None
    since = last - SYNC_OVERLAP if last is not None else now - FIRST_SYNC_LOOKBACK
    try:
        require_sdk()  # first: without it nothing else can be fixed usefully
        reading = read_workspace(base_url(env), api_token(env), since=since, deadline=deadline, transport=transport)
    except WorkspaceUnavailable as exc:
        WorkspaceSnapshot.objects.update_or_create(
            environment=env, defaults={"attempted_at": now, "error": exc.reason[:500]}
        )
        logger.warning("Could not sync %s with Intercom: %s", env.slug, exc.reason)
        raise
    secrets, secrets_error = _list_secrets(env, deadline=deadline, started=started, transport=transport)
    with transaction.atomic():
        WorkspaceSnapshot.objects.update_or_create(
            environment=env,
            defaults={
                "fetched_at": now,
                "identity_verification": reading.app.identity_verification,
                "app_id_code": reading.app.id_code,
                "app_name": reading.app.name,
                "region": reading.app.region,
                "attempted_at": now,
                "error": "",
                "secrets_error": secrets_error,
                **({"intercom_secrets": secrets} if secrets is not None else {}),
            },
        )
        WorkspaceEvent.objects.bulk_create(
            [
                WorkspaceEvent(
                    environment=env,
                    intercom_id=event.id,
                    activity_type=event.type,
                    created_at=event.created_at,
                    performed_by=event.performed_by,
                    description=event.description,
                    fetched_at=now,
                )
                for event in reading.events
            ],
            ignore_conflicts=True,  # already stored by an earlier (overlapping) sync
        )
    return report(env, now=now)


@sensitive_variables()
def _list_secrets(
    env: Environment, *, deadline: float, started: float, transport: httpx.BaseTransport | None
) -> tuple[list[Any] | None, str]:
    """The workspace's secrets as stored on the snapshot, and why they could not be listed ("" when they
    could). Intercom's secrets endpoint is a Preview API: a workspace may refuse it while the rest of the
    sync works, so its failure is kept apart (the earlier list stays) instead of failing the sync.
    ``deadline`` is the sync's, counted from its start (``started``)."""
    try:
        with SecretsApi(base_url(env), api_token(env), deadline=deadline, started=started, transport=transport) as api:
            return [secret.as_dict() for secret in api.list()], ""
    except WorkspaceUnavailable as exc:
        logger.warning("Could not list the messenger secrets of %s in Intercom: %s", env.slug, exc.reason)
        return None, exc.reason[:500]


def _observed(snapshot: WorkspaceSnapshot | None) -> ObservedWorkspace | None:
    if snapshot is None or snapshot.fetched_at is None or snapshot.identity_verification is None:
        return None
    return ObservedWorkspace(
        fetched_at=snapshot.fetched_at,
        identity_verification=snapshot.identity_verification,
        app_id=snapshot.app_id_code,
    )


def _as_event(row: WorkspaceEvent) -> IntercomEvent:
    return IntercomEvent(
        id=row.intercom_id,
        type=row.activity_type,
        created_at=row.created_at,
        performed_by=row.performed_by,
        description=row.description,
    )


def findings(environment: Environment | str, *, now: datetime | None = None) -> list[Finding]:
    """The drift of an environment, judged from what is stored (never calls Intercom)."""
    env = get_environment(environment)
    snapshot = WorkspaceSnapshot.objects.filter(environment=env).first()
    latest_secret_event = (
        WorkspaceEvent.objects.filter(environment=env, activity_type__in=SECRET_EVENT_TYPES)
        .order_by("-created_at")
        .first()
    )
    platforms = [
        RecordedPlatform(
            platform=config.platform,
            phase=config.phase,
            secret_set_at=config.secret_set_at if config.encrypted_secret and not config.managed_by_settings else None,
            intercom_secret_id=config.intercom_secret_id,
            previous_intercom_secret_id=config.previous_intercom_secret_id,
        )
        for config in env.platforms.all()
    ]
    return find_drift(
        app_id=env.app_id,
        platforms=platforms,
        observed=_observed(snapshot),
        events=[_as_event(latest_secret_event)] if latest_secret_event is not None else [],
        watched=env.has_api_token,
        now=now or timezone.now(),
        stale_after=timedelta(hours=conf.WORKSPACE_STALE_HOURS),
        intercom_secrets=secrets_from_json(snapshot.intercom_secrets) if snapshot is not None else None,
        retire_after=timedelta(hours=conf.SECRET_RETIRE_AFTER_HOURS),
    )


def report(environment: Environment | str, *, now: datetime | None = None) -> dict[str, Any]:
    """The command's JSON: the stored snapshot, its drift and the stored events, newest first."""
    env = get_environment(environment)
    snapshot = WorkspaceSnapshot.objects.filter(environment=env).first()
    observed = _observed(snapshot)
    events = WorkspaceEvent.objects.filter(environment=env).order_by("-created_at", "-id")[:REPORT_EVENTS]
    return {
        "environment": env.slug,
        "fetched_at": observed.fetched_at.isoformat() if observed else None,
        "identity_verification": observed.identity_verification if observed else None,
        "app_id": observed.app_id if observed else None,
        "secrets": snapshot.intercom_secrets if snapshot is not None else None,
        "drift": [finding.as_dict() for finding in findings(env, now=now)],
        "events": [
            {
                "id": event.intercom_id,
                "type": event.activity_type,
                "created_at": event.created_at.isoformat(),
                "performed_by": event.performed_by,
                "description": event.description,
            }
            for event in events
        ],
    }


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an environment's history: a change made through this app, or an Intercom event."""

    at: datetime
    from_intercom: bool
    who: str
    what: str


def timeline(environment: Environment, *, limit: int = 12) -> list[TimelineEntry]:
    """The app's audit trail and the stored Intercom events of ``environment``, interleaved, newest first."""
    entries = [
        TimelineEntry(
            at=event.created_at,
            from_intercom=False,
            who=event.actor_label,
            what=" ".join(
                part
                for part in (
                    # Worded as the audit trail words it: "iOS: Phase: Off → Sending (not enforced)".
                    f"{event.get_platform_display()}: {event.change_summary()}"
                    if event.platform
                    else event.change_summary(),
                    gettext("(forced)") if event.forced else "",
                    f"— {event.reason}" if event.reason else "",
                )
                if part
            ),
        )
        for event in AuditEvent.objects.filter(environment=environment.slug).order_by("-created_at", "-id")[:limit]
    ]
    entries += [
        TimelineEntry(
            at=event.created_at,
            from_intercom=True,
            who=event.performed_by,
            what=f"{event.activity_type}: {event.description}" if event.description else event.activity_type,
        )
        for event in WorkspaceEvent.objects.filter(environment=environment).order_by("-created_at", "-id")[:limit]
    ]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]

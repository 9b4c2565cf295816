"""Drift: where the phases this app records disagree with what the Intercom workspace reports.

Pure rules over plain data (no database, no network), so the command, the admin and the
system check all judge a workspace the same way, and the rules can be tested alone. The
codes are fixed names: other checks, dashboards and the README rely on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from django.utils.translation import gettext, pgettext

from intercom_identity.constants import label as platform_label

APP_ID_MISMATCH = "app_id_mismatch"
INTERCOM_ENFORCES_UNRECORDED = "intercom_enforces_unrecorded"
RECORDED_ENFORCED_NOT_IN_INTERCOM = "recorded_enforced_not_in_intercom"
SECRET_CHANGED_IN_INTERCOM = "secret_changed_in_intercom"  # noqa: S105 - a code, not a secret
SYNC_STALE = "sync_stale"
# Secrets made through the API (GET /secure_mode_secrets, read by each sync).
STORED_SECRET_NOT_IN_INTERCOM = "stored_secret_not_in_intercom"  # noqa: S105 - codes, not secrets
NO_SECRET_IN_INTERCOM = "no_secret_in_intercom"  # noqa: S105
OLD_SECRET_NOT_RETIRED = "old_secret_not_retired"  # noqa: S105

CODES = (
    APP_ID_MISMATCH,
    INTERCOM_ENFORCES_UNRECORDED,
    RECORDED_ENFORCED_NOT_IN_INTERCOM,
    SECRET_CHANGED_IN_INTERCOM,
    SYNC_STALE,
    STORED_SECRET_NOT_IN_INTERCOM,
    NO_SECRET_IN_INTERCOM,
    OLD_SECRET_NOT_RETIRED,
)

# Activity log types that matter here; the log holds many more (sign-ins, away mode...).
IDENTITY_VERIFICATION_CHANGE = "app_identity_verification_change"
SECRET_CREATION = "messenger_api_secret_creation"  # noqa: S105 - activity types, not secrets
SECRET_DELETION = "messenger_api_secret_deletion"  # noqa: S105
SECURITY_SETTINGS_CHANGE = "security_settings_change"
RELEVANT_EVENT_TYPES = frozenset(
    {IDENTITY_VERIFICATION_CHANGE, SECRET_CREATION, SECRET_DELETION, SECURITY_SETTINGS_CHANGE}
)
SECRET_EVENT_TYPES = frozenset({SECRET_CREATION, SECRET_DELETION})

ENFORCED = "enforced"  # RolloutPhase.ENFORCED, as a plain string: no model import here


@dataclass(frozen=True)
class Finding:
    """One disagreement: its fixed code, the platform it concerns (None: the whole workspace), what to do."""

    code: str
    platform: str | None
    detail: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "platform": self.platform, "detail": self.detail}


@dataclass(frozen=True)
class IntercomEvent:
    """One entry of Intercom's activity log that matters here."""

    id: str
    type: str
    created_at: datetime
    performed_by: str
    description: str


@dataclass(frozen=True)
class IntercomSecret:
    """One messenger secret as ``GET /secure_mode_secrets`` lists it: metadata, never the secret."""

    id: str
    name: str
    platforms: frozenset[str]  # "ios", "android", "web": the supports_* flags that are true
    created_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "platforms": sorted(self.platforms),
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass(frozen=True)
class ObservedWorkspace:
    """What Intercom reported at the last successful sync."""

    fetched_at: datetime
    identity_verification: bool
    app_id: str


@dataclass(frozen=True)
class RecordedPlatform:
    """What this app records for one platform of the environment.

    ``secret_set_at`` is when the stored secret in use was set; None when no secret is
    stored, or when settings supply it (the app cannot know when that one was made).
    """

    platform: str
    phase: str
    secret_set_at: datetime | None
    intercom_secret_id: str = ""  # the secret in use, when it was made through the API
    previous_intercom_secret_id: str = ""  # the one it replaced, until retire-secret


def find_drift(
    *,
    app_id: str,
    platforms: Sequence[RecordedPlatform],
    observed: ObservedWorkspace | None,
    events: Sequence[IntercomEvent],
    watched: bool,
    now: datetime,
    stale_after: timedelta,
    intercom_secrets: Sequence[IntercomSecret] | None = None,
    retire_after: timedelta = timedelta(days=7),
) -> list[Finding]:
    """Every disagreement between the records and the workspace, in a stable order.

    ``watched`` says the environment is compared with Intercom at all (it has an access
    token, or was synced once): an environment nobody connected has no findings, not a
    "never synced" one. A stale snapshot still yields its findings: it is the last truth known.
    """
    if not watched and observed is None:
        return []
    findings: list[Finding] = []
    if observed is not None:
        findings += _state_findings(app_id, platforms, observed)
    # A platform whose secret was made through the API and that Intercom still lists is judged by the list,
    # not by the activity log: its own create-, rotate- and retire-secret write secret events there too.
    listed_ids = {secret.id for secret in intercom_secrets} if intercom_secrets is not None else set()
    by_log = [p for p in platforms if not (p.intercom_secret_id and p.intercom_secret_id in listed_ids)]
    findings += _secret_findings(by_log, events)
    if intercom_secrets is not None:
        findings += _listed_secret_findings(platforms, intercom_secrets, now=now, retire_after=retire_after)
    if observed is None:
        findings.append(
            Finding(
                SYNC_STALE,
                None,
                gettext(
                    "Never synced with Intercom: sync it (`Sync with Intercom` on the overview, or "
                    "`manage.py intercom_identity workspace ENV`)."
                ),
            )
        )
    elif now - observed.fetched_at > stale_after:
        hours = int((now - observed.fetched_at).total_seconds() // 3600)
        findings.append(
            Finding(
                SYNC_STALE,
                None,
                gettext(
                    "The last successful sync with Intercom was %(hours)d hours ago (more than %(limit)d): "
                    "sync again; if it fails, its reason says why."
                )
                % {"hours": hours, "limit": int(stale_after.total_seconds() // 3600)},
            )
        )
    return findings


def _state_findings(app_id: str, platforms: Sequence[RecordedPlatform], observed: ObservedWorkspace) -> list[Finding]:
    findings = []
    if observed.app_id != app_id:
        recorded = f"'{app_id}'" if app_id else pgettext("no value", "none")
        findings.append(
            Finding(
                APP_ID_MISMATCH,
                None,
                gettext(
                    "Intercom's workspace has app id '%(observed)s' but this environment records %(recorded)s: "
                    "the token belongs to another workspace, or the environment's app id is wrong."
                )
                % {"observed": observed.app_id, "recorded": recorded},
            )
        )
    enforced = [p for p in platforms if p.phase == ENFORCED]
    if observed.identity_verification and not enforced:
        findings.append(
            Finding(
                INTERCOM_ENFORCES_UNRECORDED,
                None,
                gettext(
                    "Intercom enforces identity verification, but no platform here is 'enforced': app versions "
                    "that do not send the credential are already locked out. Record it (phase 'enforced') or "
                    "turn enforcement off in Intercom."
                ),
            )
        )
    if not observed.identity_verification:
        findings += [
            Finding(
                RECORDED_ENFORCED_NOT_IN_INTERCOM,
                p.platform,
                gettext(
                    "%(platform)s is 'enforced' here, but Intercom reports identity verification off: nobody is "
                    "protected. Turn it on in Intercom, or move the platform back to 'sending'."
                )
                % {"platform": platform_label(p.platform)},
            )
            for p in enforced
        ]
    return findings


def _secret_findings(platforms: Sequence[RecordedPlatform], events: Sequence[IntercomEvent]) -> list[Finding]:
    secret_events = [event for event in events if event.type in SECRET_EVENT_TYPES]
    if not secret_events:
        return []
    latest = max(secret_events, key=lambda event: event.created_at)
    created = latest.type == SECRET_CREATION
    if latest.performed_by:
        what = (gettext("created in Intercom by %(who)s") if created else gettext("deleted in Intercom by %(who)s")) % {
            "who": latest.performed_by
        }
    else:
        what = gettext("created in Intercom") if created else gettext("deleted in Intercom")
    return [
        Finding(
            SECRET_CHANGED_IN_INTERCOM,
            p.platform,
            gettext(
                "A messenger secret was %(what)s on %(when)s, after the %(platform)s secret stored here "
                "(set %(set_at)s): if it was regenerated, every hash handed out is wrong. Store the secret "
                "Intercom shows now (the admin's New secret, or `manage.py intercom_identity set-secret ENV "
                "PLATFORM`), even if unchanged, to clear this."
            )
            % {
                "what": what,
                "when": _utc(latest.created_at),
                "platform": platform_label(p.platform),
                "set_at": _utc(p.secret_set_at),
            },
        )
        for p in platforms
        if p.secret_set_at is not None and latest.created_at > p.secret_set_at
    ]


def _listed_secret_findings(
    platforms: Sequence[RecordedPlatform],
    listed: Sequence[IntercomSecret],
    *,
    now: datetime,
    retire_after: timedelta,
) -> list[Finding]:
    """What the workspace's list of secrets says against the records (``None``: it was not read)."""
    ids = {secret.id for secret in listed}
    findings = []
    for p in platforms:
        name = platform_label(p.platform)
        if p.intercom_secret_id and p.intercom_secret_id not in ids:
            findings.append(
                Finding(
                    STORED_SECRET_NOT_IN_INTERCOM,
                    p.platform,
                    gettext(
                        "The %(platform)s secret stored here (Intercom id %(id)s) no longer exists in Intercom: "
                        "every credential handed out is refused. Make a new one: `manage.py intercom_identity "
                        "create-secret ENV %(slug)s` after clearing this one (`clear-secret`, phase off), or store "
                        "the secret Intercom has (`set-secret`); then `retire-secret ENV %(slug)s` forgets the old id."
                    )
                    % {"platform": name, "id": p.intercom_secret_id, "slug": p.platform},
                )
            )
        in_use = p.phase != "off" or p.intercom_secret_id or p.secret_set_at is not None
        if in_use and not any(p.platform in secret.platforms for secret in listed):
            findings.append(
                Finding(
                    NO_SECRET_IN_INTERCOM,
                    p.platform,
                    gettext(
                        "Intercom has no messenger secret for %(platform)s, which this app serves: Intercom cannot "
                        "verify what it hands out. Make one (`manage.py intercom_identity create-secret ENV "
                        "%(slug)s`), or create it in Intercom's settings and store it (`set-secret`)."
                    )
                    % {"platform": name, "slug": p.platform},
                )
            )
        rotated = p.secret_set_at
        if p.previous_intercom_secret_id in ids and rotated is not None and now - rotated > retire_after:
            findings.append(
                Finding(
                    OLD_SECRET_NOT_RETIRED,
                    p.platform,
                    gettext(
                        "The %(platform)s secret replaced on %(when)s (Intercom id %(id)s) still exists in Intercom, "
                        "past the grace period of %(hours)d hours: anyone holding it can still be trusted. Retire it: "
                        "`manage.py intercom_identity retire-secret ENV %(slug)s`."
                    )
                    % {
                        "platform": name,
                        "when": _utc(rotated),
                        "id": p.previous_intercom_secret_id,
                        "hours": int(retire_after.total_seconds() // 3600),
                        "slug": p.platform,
                    },
                )
            )
    return findings


def secrets_from_json(value: Any) -> list[IntercomSecret] | None:
    """The list stored on the snapshot (``IntercomSecret.as_dict`` each) back as secrets; None: never read."""
    if not isinstance(value, list):
        return None
    return [
        IntercomSecret(
            id=str(item.get("id", "")),
            name=str(item.get("name", "")),
            platforms=frozenset(item.get("platforms") or ()),
            created_at=datetime.fromisoformat(item["created_at"]) if item.get("created_at") else None,
        )
        for item in value
        if isinstance(item, dict)
    ]


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def relevant_to(findings: Sequence[Finding], platform: str) -> list[Finding]:
    """The findings a change of ``platform`` should be shown: its own and the workspace-wide ones."""
    return [finding for finding in findings if finding.platform in (None, platform)]

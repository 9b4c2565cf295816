"""The drift rules alone: plain data in, findings out (no database, no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from intercom_identity.workspace.drift import (
    CODES,
    Finding,
    IntercomEvent,
    IntercomSecret,
    ObservedWorkspace,
    RecordedPlatform,
    find_drift,
    relevant_to,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def platforms(
    ios: str = "off", android: str = "off", web: str = "off", *, secrets_set: dict[str, datetime] | None = None
) -> list[RecordedPlatform]:
    """The three platforms in these phases; ``secrets_set`` says when each stored secret was set."""
    return [
        RecordedPlatform(name, phase, (secrets_set or {}).get(name))
        for name, phase in (("android", android), ("ios", ios), ("web", web))
    ]


def observed(identity_verification: bool, app_id: str = "app1", *, age: timedelta = timedelta(0)) -> ObservedWorkspace:
    return ObservedWorkspace(fetched_at=NOW - age, identity_verification=identity_verification, app_id=app_id)


def event(kind: str, when: datetime, by: str = "eve@example.com") -> IntercomEvent:
    return IntercomEvent(
        id=f"{kind}-{when.timestamp():.0f}",
        type=kind,
        created_at=when,
        performed_by=by,
        description="",
    )


def drift(
    recorded: list[RecordedPlatform],
    seen: ObservedWorkspace | None,
    events: list[IntercomEvent] | None = None,
    *,
    app_id: str = "app1",
    watched: bool = True,
) -> list[tuple[str, str | None]]:
    findings = find_drift(
        app_id=app_id,
        platforms=recorded,
        observed=seen,
        events=events or [],
        watched=watched,
        now=NOW,
        stale_after=timedelta(hours=24),
    )
    return [(finding.code, finding.platform) for finding in findings]


def test_the_codes_are_the_fixed_names() -> None:
    assert CODES == (
        "app_id_mismatch",
        "intercom_enforces_unrecorded",
        "recorded_enforced_not_in_intercom",
        "secret_changed_in_intercom",
        "sync_stale",
        "stored_secret_not_in_intercom",
        "no_secret_in_intercom",
        "old_secret_not_retired",
    )


@pytest.mark.parametrize(
    ("recorded", "identity_verification", "expected"),
    [
        (platforms(), False, []),
        (platforms(ios="sending", web="sending"), False, []),
        (platforms(ios="enforced"), True, []),
        (platforms(ios="sending"), True, [("intercom_enforces_unrecorded", None)]),
        (platforms(), True, [("intercom_enforces_unrecorded", None)]),
        (platforms(ios="enforced"), False, [("recorded_enforced_not_in_intercom", "ios")]),
        (
            platforms(ios="enforced", web="enforced", android="sending"),
            False,
            [("recorded_enforced_not_in_intercom", "ios"), ("recorded_enforced_not_in_intercom", "web")],
        ),
    ],
)
def test_enforcement(recorded: list[RecordedPlatform], identity_verification: bool, expected: list[object]) -> None:
    assert drift(recorded, observed(identity_verification)) == expected


@pytest.mark.parametrize(("recorded_app_id", "found"), [("app1", False), ("other", True), ("", True)])
def test_app_id(recorded_app_id: str, found: bool) -> None:
    assert (("app_id_mismatch", None) in drift(platforms(), observed(False), app_id=recorded_app_id)) is found


def test_a_secret_event_flags_each_older_stored_secret() -> None:
    recorded = platforms(secrets_set={"ios": NOW - 10 * DAY, "android": NOW - DAY})  # web: none stored
    events = [event("messenger_api_secret_creation", NOW - 2 * DAY)]
    assert drift(recorded, observed(False), events) == [("secret_changed_in_intercom", "ios")]


def test_only_the_newest_secret_event_counts_and_deletions_count() -> None:
    recorded = platforms(secrets_set={"ios": NOW - 5 * DAY, "android": NOW - 3 * DAY, "web": NOW - DAY})
    events = [
        event("messenger_api_secret_creation", NOW - 4 * DAY),
        event("messenger_api_secret_deletion", NOW - 2 * DAY),
    ]
    assert drift(recorded, observed(False), events) == [
        ("secret_changed_in_intercom", "android"),
        ("secret_changed_in_intercom", "ios"),
    ]


def test_other_events_are_no_drift() -> None:
    recorded = platforms(secrets_set={"ios": NOW - 5 * DAY})
    events = [event("app_identity_verification_change", NOW - DAY), event("security_settings_change", NOW - DAY)]
    assert drift(recorded, observed(False), events) == []


def test_stale_and_never_synced() -> None:
    assert drift(platforms(), observed(False, age=timedelta(hours=23))) == []
    assert drift(platforms(), observed(False, age=timedelta(hours=25))) == [("sync_stale", None)]
    assert drift(platforms(), None) == [("sync_stale", None)]


def test_a_stale_snapshot_still_says_what_it_knew() -> None:
    assert drift(platforms(), observed(True, age=10 * DAY)) == [
        ("intercom_enforces_unrecorded", None),
        ("sync_stale", None),
    ]


def test_an_environment_nobody_connected_has_no_findings() -> None:
    assert drift(platforms(ios="enforced"), None, watched=False) == []


def test_a_confirmation_shows_the_platforms_own_findings_and_the_workspaces() -> None:
    mine, theirs, everyone = Finding("a", "ios", ""), Finding("b", "web", ""), Finding("c", None, "")
    assert relevant_to([mine, theirs, everyone], "ios") == [mine, everyone]


# --- the workspace's list of secrets (GET /secure_mode_secrets) ---------------------------------


def listed(*secrets: tuple[str, frozenset[str]]) -> list[IntercomSecret]:
    return [IntercomSecret(id=i, name="", platforms=p, created_at=None) for i, p in secrets]


ALL = frozenset({"android", "ios", "web"})


def secret_findings(recorded: list[RecordedPlatform], secrets: list[IntercomSecret] | None) -> list[Finding]:
    """Drift of ``recorded`` against Intercom's list of ``secrets`` (None: never listed), all else in step."""
    return find_drift(
        app_id="app1",
        platforms=recorded,
        observed=observed(True),
        events=[],
        watched=True,
        now=NOW,
        stale_after=timedelta(hours=24),
        intercom_secrets=secrets,
        retire_after=timedelta(hours=168),
    )


def secret_drift(recorded: list[RecordedPlatform], secrets: list[IntercomSecret] | None) -> list[tuple[str, str]]:
    return [(f.code, str(f.platform)) for f in secret_findings(recorded, secrets) if f.code in SECRET_CODES]


SECRET_CODES = {"stored_secret_not_in_intercom", "no_secret_in_intercom", "old_secret_not_retired"}


def test_a_stored_secret_whose_intercom_id_is_gone() -> None:
    recorded = [RecordedPlatform("ios", "enforced", NOW - DAY, intercom_secret_id="7001")]
    assert secret_drift(recorded, listed(("9001", ALL))) == [("stored_secret_not_in_intercom", "ios")]
    assert secret_drift(recorded, listed(("7001", frozenset({"ios"})))) == []


def test_a_platform_in_use_with_no_secret_in_intercom() -> None:
    recorded = [RecordedPlatform("web", "sending", NOW - DAY), RecordedPlatform("android", "off", None)]
    assert secret_drift(recorded, listed(("9001", frozenset({"ios"})))) == [("no_secret_in_intercom", "web")]
    assert secret_drift(recorded, listed(("9001", frozenset({"web"})))) == []


def test_an_old_secret_left_past_the_grace_period() -> None:
    rotated = RecordedPlatform(
        "ios", "enforced", NOW - 8 * DAY, intercom_secret_id="7002", previous_intercom_secret_id="7001"
    )
    both = listed(("7001", frozenset({"ios"})), ("7002", frozenset({"ios"})))
    assert secret_drift([rotated], both) == [("old_secret_not_retired", "ios")]
    recent = RecordedPlatform(
        "ios", "enforced", NOW - 6 * DAY, intercom_secret_id="7002", previous_intercom_secret_id="7001"
    )
    assert secret_drift([recent], both) == []  # inside the grace period
    assert secret_drift([rotated], listed(("7002", frozenset({"ios"})))) == []  # retired


def test_secrets_never_listed_are_not_judged() -> None:
    recorded = [RecordedPlatform("ios", "enforced", NOW - DAY, intercom_secret_id="7001")]
    assert secret_drift(recorded, None) == []


def test_each_new_code_names_its_fix() -> None:
    recorded = [
        RecordedPlatform(
            "ios", "enforced", NOW - 8 * DAY, intercom_secret_id="7002", previous_intercom_secret_id="7001"
        ),
        RecordedPlatform("web", "sending", None, intercom_secret_id="7003"),
    ]
    findings = secret_findings(recorded, listed(("7001", frozenset({"ios"})), ("7002", frozenset({"ios"}))))
    details = {f.code: f.detail for f in findings}
    assert "retire-secret ENV ios" in details["old_secret_not_retired"]
    assert "create-secret ENV web" in details["no_secret_in_intercom"]
    assert "clear-secret" in details["stored_secret_not_in_intercom"]


def test_the_apps_own_secret_events_are_no_secret_changed_finding_when_intercom_lists_its_secret() -> None:
    made = RecordedPlatform("ios", "enforced", NOW - 2 * DAY, intercom_secret_id="7002")
    retired = [event("messenger_api_secret_deletion", NOW - DAY)]  # retire-secret deleted the old one
    kwargs: dict[str, object] = {
        "app_id": "app1",
        "platforms": [made],
        "observed": observed(True),
        "events": retired,
        "watched": True,
        "now": NOW,
        "stale_after": timedelta(hours=24),
    }
    listed_now = listed(("7002", frozenset({"ios"})))
    assert [f.code for f in find_drift(**kwargs, intercom_secrets=listed_now)] == []  # type: ignore[arg-type]
    # Without the list (never read), the activity log is all there is to go by.
    assert [f.code for f in find_drift(**kwargs)] == ["secret_changed_in_intercom"]  # type: ignore[arg-type]

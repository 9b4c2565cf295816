"""workspace/sync.py, through ``manage.py intercom_identity workspace ENV`` against a local server
answering as Intercom documents: every finding, what a failed sync keeps, and what the command
prints (how Intercom is read, and each way that fails, is tests/workspace/test_client.py's)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from intercom_identity.checks import check_workspace_drift
from intercom_identity.models import (
    PlatformConfig,
    RolloutPhase,
    WorkspaceEvent,
    WorkspaceSnapshot,
)
from intercom_identity.workspace import sync as workspace
from tests.helpers import assert_terminal_safe, command_result, configure
from tests.intercom_fake import TOKENS, FakeIntercom, ago, assert_sync_failed, error_list, log_entry, log_page, me

pytestmark = pytest.mark.django_db

PROD = TOKENS["production"]


def enforce(env: str, platform: str) -> PlatformConfig:
    return configure(env, platform, RolloutPhase.ENFORCED)


# --- what the SDK sends, and what the command prints ---------------------------------------


def test_a_sync_reads_me_then_the_log_of_30_days_with_the_token_and_version(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False)
    before = int((timezone.now() - timedelta(days=30)).timestamp())
    code, out, error = command_result("workspace", "production", "--json")
    assert (code, error) == (0, "")
    _me_request, logs = intercom.assert_sent_by_the_sdk(PROD, "/me", "/admins/activity_logs")
    assert abs(int(logs.args["created_at_after"]) - before) <= 5
    assert (logs.args["page"], logs.args["per_page"]) == ("1", "250")
    result = json.loads(out)
    assert set(result) == {
        "environment",
        "fetched_at",
        "identity_verification",
        "app_id",
        "secrets",
        "drift",
        "events",
    }
    assert result["environment"] == "production"
    assert [secret["name"] for secret in result["secrets"]] == ["made by hand"]
    assert result["identity_verification"] is False
    assert result["app_id"] == "prodapp1"
    assert result["drift"] == []
    assert result["events"] == []
    snapshot = WorkspaceSnapshot.objects.get(environment__slug="production")
    assert (snapshot.app_name, snapshot.region, snapshot.error) == ("Acme", "US", "")
    assert snapshot.fetched_at.isoformat() == result["fetched_at"]


def test_no_drift_is_exit_0_in_text_too(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False)
    code, out, _error = command_result("workspace", "production")
    assert code == 0
    assert "identity verification off" in out
    assert "No drift." in out


def test_relevant_events_are_stored_once_and_printed(intercom: FakeIntercom) -> None:
    entries = [
        log_entry("101", "app_identity_verification_change", ago(days=3), description="Enabled identity verification"),
        log_entry("102", "admin_login_success", ago(days=2)),  # not relevant: not kept
        log_entry("103", "security_settings_change", ago(days=1), email="sec@example.com"),
    ]
    intercom.answer(identity_verification=False, pages=[entries])
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 0
    events = json.loads(out)["events"]
    assert [event["id"] for event in events] == ["103", "101"]  # newest first
    assert events[0] == {
        "id": "103",
        "type": "security_settings_change",
        "created_at": events[0]["created_at"],
        "performed_by": "sec@example.com",
        "description": "Admin did security_settings_change.",
    }
    # A second sync reads from the first one (less the overlap) and stores nothing twice.
    first = WorkspaceSnapshot.objects.get(environment__slug="production").fetched_at
    command_result("workspace", "production")
    second_logs = [r for r in intercom.requests() if r.path == "/admins/activity_logs"][-1]
    expected = int((first - workspace.SYNC_OVERLAP).timestamp())
    assert int(second_logs.args["created_at_after"]) == expected
    assert WorkspaceEvent.objects.filter(environment__slug="production").count() == 2


def test_every_page_of_the_log_is_read(intercom: FakeIntercom) -> None:
    intercom.answer(
        identity_verification=False,
        pages=[
            [log_entry("1", "messenger_api_secret_deletion", ago(days=9))],
            [log_entry("2", "security_settings_change", ago(days=8))],
            [log_entry("3", "app_identity_verification_change", ago(days=7))],
        ],
    )
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 0
    requests = intercom.assert_sent_by_the_sdk(PROD, "/me", *["/admins/activity_logs"] * 3)
    assert [request.args["page"] for request in requests[1:]] == ["1", "2", "3"]
    assert sorted(event["id"] for event in json.loads(out)["events"]) == ["1", "2", "3"]


def test_text_output_escapes_what_intercom_wrote(intercom: FakeIntercom) -> None:
    entry = log_entry("7", "security_settings_change", ago(days=1), description="Changed\x1b[2J settings\nfake line")
    intercom.answer(identity_verification=False, pages=[[entry]])
    _code, out, _error = command_result("workspace", "production")
    assert "\x1b" not in out
    assert "Changed\\x1b[2J settings\\nfake line" in out


# --- every finding ----------------------------------------------------------------------


def codes(out: str) -> list[tuple[str, str | None]]:
    return [(finding["code"], finding["platform"]) for finding in json.loads(out)["drift"]]


def test_app_id_mismatch(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False, id_code="someone_else")
    code, out, error = command_result("workspace", "production", "--json")
    assert code == 1
    assert error == "1 drift finding(s) for production."
    assert codes(out) == [("app_id_mismatch", None)]
    assert "'someone_else'" in json.loads(out)["drift"][0]["detail"]


def test_intercom_enforces_unrecorded(intercom: FakeIntercom) -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    intercom.answer(identity_verification=True)
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 1
    assert codes(out) == [("intercom_enforces_unrecorded", None)]


def test_enforced_here_and_in_intercom_is_no_drift(intercom: FakeIntercom) -> None:
    enforce("production", "web")
    intercom.answer(identity_verification=True)
    assert command_result("workspace", "production")[0] == 0


def test_recorded_enforced_not_in_intercom_once_per_platform(intercom: FakeIntercom) -> None:
    enforce("production", "ios")
    enforce("production", "android")
    configure("production", "web", RolloutPhase.SENDING)
    intercom.answer(identity_verification=False)
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 1
    assert codes(out) == [
        ("recorded_enforced_not_in_intercom", "android"),
        ("recorded_enforced_not_in_intercom", "ios"),
    ]


def test_secret_changed_in_intercom_for_each_older_secret(intercom: FakeIntercom) -> None:
    ios, android = configure("production", "ios"), configure("production", "android")  # web: no secret
    PlatformConfig.objects.filter(pk=ios.pk).update(secret_set_at=ago(days=10))
    PlatformConfig.objects.filter(pk=android.pk).update(secret_set_at=ago(days=1))
    intercom.answer(
        identity_verification=False,
        pages=[[log_entry("55", "messenger_api_secret_creation", ago(days=2), email="eve@example.com")]],
    )
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 1
    assert codes(out) == [("secret_changed_in_intercom", "ios")]
    assert "eve@example.com" in json.loads(out)["drift"][0]["detail"]
    # Storing the secret again (even unchanged) acknowledges it.
    configure("production", "ios")
    assert workspace.findings("production") == []


def test_a_secret_deletion_counts_too(intercom: FakeIntercom) -> None:
    web = configure("production", "web")
    PlatformConfig.objects.filter(pk=web.pk).update(secret_set_at=ago(days=5))
    deletion = log_entry("9", "messenger_api_secret_deletion", ago(hours=1))
    intercom.answer(identity_verification=False, pages=[[deletion]])
    assert codes(command_result("workspace", "production", "--json")[1]) == [("secret_changed_in_intercom", "web")]


def test_sync_stale(intercom: FakeIntercom, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_WORKSPACE_STALE_HOURS = 2
    # A token and no sync yet: stale ("never synced").
    assert [f.code for f in workspace.findings("production")] == ["sync_stale"]
    intercom.answer(identity_verification=False)
    assert command_result("workspace", "production")[0] == 0
    assert workspace.findings("production") == []
    WorkspaceSnapshot.objects.filter(environment__slug="production").update(fetched_at=ago(hours=3))
    (finding,) = workspace.findings("production")
    assert (finding.code, finding.platform) == ("sync_stale", None)
    assert "3 hours ago" in finding.detail


def test_an_environment_nobody_connected_has_no_findings(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    assert workspace.findings("development") == []


# --- a failed sync: exit 2, one line, never the token; the last snapshot kept ---------


def test_a_refused_log_keeps_the_earlier_snapshot(intercom: FakeIntercom, httpserver: HTTPServer) -> None:
    intercom.answer(identity_verification=True)
    enforce("production", "ios")
    assert command_result("workspace", "production")[0] == 0
    httpserver.clear()
    httpserver.expect_request("/me").respond_with_json(me(identity_verification=False))
    httpserver.expect_request("/admins/activity_logs").respond_with_json(error_list("unauthorized"), status=401)
    assert_sync_failed("GET /admins/activity_logs (page 1)", "401")
    snapshot = WorkspaceSnapshot.objects.get(environment__slug="production")
    assert snapshot.identity_verification is True  # what the last successful sync said
    assert workspace.findings("production") == []


def test_an_environment_without_a_token(intercom: FakeIntercom, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    error = assert_sync_failed("production has no Intercom API token", "set-api-token production")
    assert intercom.requests() == []
    assert "INTERCOM_IDENTITY_API_TOKENS" in error


def test_an_unknown_environment_is_exit_2() -> None:
    code, _out, error = command_result("workspace", "staging")
    assert code == 2
    assert "No Intercom environment 'staging'" in error


# What the workspace commands print from Intercom or from the database goes through the same terminal rule as
# every other line of the command (``text.for_terminal``): an admin's email, an activity description or the app id
# Intercom reports cannot move the cursor, recolour, reorder or hide what an operator reads, in the command's
# output, its errors, or the system check's messages. The token commands' ``--reason`` is refused like any other
# audit reason.
# Each hides or rewrites what an operator reads: a colour and a line erase, a bidi override, a
# zero-width space (two names that read the same), a no-break space, a line separator.
HOSTILE_EMAIL = "eve\x1b[32m@example.com\u202emoc.elpmaxe@nhoj"


HOSTILE_DESCRIPTION = "Changed\u200b settings\u00a0\r\x1b[2Kall is well\u2028fake line"


def secret_changed_by(intercom: FakeIntercom, email: str, description: str) -> None:
    ios = configure("production", "ios")
    PlatformConfig.objects.filter(pk=ios.pk).update(secret_set_at=ago(days=10))
    entry = log_entry("55", "messenger_api_secret_creation", ago(days=2), email=email, description=description)
    intercom.answer(identity_verification=False, pages=[[entry]], id_code="prod\x1b]0;pwned\x07app")


def test_workspace_text_output_escapes_intercoms_emails_descriptions_and_app_id(intercom: FakeIntercom) -> None:
    secret_changed_by(intercom, HOSTILE_EMAIL, HOSTILE_DESCRIPTION)
    code, out, error = command_result("workspace", "production")
    assert code == 1
    assert error == "2 drift finding(s) for production."  # app_id_mismatch, secret_changed_in_intercom
    assert_terminal_safe(out)
    assert "eve\\x1b[32m@example.com\\u202emoc.elpmaxe@nhoj" in out  # the event line and the finding
    assert "Changed\\u200b settings\\xa0\\r\\x1b[2Kall is well\\u2028fake line" in out
    assert "prod\\x1b]0;pwned\\x07app" in out
    # One line per record: the header, two findings, one event.
    assert len(out.splitlines()) == 4, out


def test_the_system_check_escapes_what_the_last_sync_stored(intercom: FakeIntercom) -> None:
    secret_changed_by(intercom, HOSTILE_EMAIL, "")
    command_result("workspace", "production", "--json")
    messages = [message.msg for message in check_workspace_drift(databases=["default"])]
    assert all(message.isprintable() for message in messages), messages
    messages = [message for message in messages if message.startswith("production:")]
    assert len(messages) == 2, messages  # app_id_mismatch, secret_changed_in_intercom
    assert any("eve\\x1b[32m@example.com" in message for message in messages)


# --- the workspace's secrets, listed by each sync ------------------------------------------------


def test_the_sync_reports_the_secret_codes_from_intercoms_list(intercom: FakeIntercom) -> None:
    from tests.helpers import run

    intercom.answer(identity_verification=True)
    store = intercom.secrets()
    store.store.clear()  # no secret made by hand in this workspace
    run("create-secret", "production", "ios")
    run("rotate-secret", "production", "ios")
    ios = PlatformConfig.objects.get(environment__slug="production", platform="ios")
    PlatformConfig.objects.filter(pk=ios.pk).update(secret_set_at=timezone.now() - timedelta(days=8), phase="enforced")
    configure("production", "web", RolloutPhase.SENDING)  # copied by hand: Intercom lists no web secret
    android = PlatformConfig.objects.get(environment__slug="production", platform="android")
    PlatformConfig.objects.filter(pk=android.pk).update(intercom_secret_id="6999")  # deleted in Intercom since
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 1
    found = {(finding["code"], finding["platform"]) for finding in json.loads(out)["drift"]}
    assert found >= {
        ("old_secret_not_retired", "ios"),
        ("no_secret_in_intercom", "web"),
        ("stored_secret_not_in_intercom", "android"),
    }
    assert store.problems == []


def test_a_refused_secrets_list_does_not_fail_the_sync(intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False)
    intercom.secrets().fail["GET"] = 403
    code, out, _error = command_result("workspace", "production", "--json")
    assert code == 0
    assert json.loads(out)["secrets"] is None
    snapshot = WorkspaceSnapshot.objects.get(environment__slug="production")
    assert "Intercom forbids GET /secure_mode_secrets (403" in snapshot.secrets_error


def test_the_secrets_list_is_inside_the_syncs_deadline(intercom: FakeIntercom, clock: list[float]) -> None:
    """The log takes 30 s of a 25 s deadline (the admin's): the secrets are not listed after it, saying why,
    and the rest of the sync is kept."""
    intercom.secrets()
    intercom.server.expect_request("/me").respond_with_json(me(identity_verification=False))

    def slow_log(request: Request) -> Response:
        clock[0] += 30
        return Response(json.dumps(log_page([])), content_type="application/json")

    intercom.server.expect_request("/admins/activity_logs").respond_with_handler(slow_log)
    workspace.sync("production", deadline=25)
    snapshot = WorkspaceSnapshot.objects.get(environment__slug="production")
    assert (snapshot.error, snapshot.identity_verification) == ("", False)
    assert snapshot.secrets_error.startswith("Reading Intercom took longer than 25 s (GET /secure_mode_secrets)")
    assert intercom.secrets().calls == []

"""The admin's side of workspace truth: the overview's state, banner, sync button and history;
the confirmation page's findings; the write-only token; who may sync."""

from __future__ import annotations

import re
import sys
from typing import Any

import httpx
import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter
from pytest_httpserver import HTTPServer

from intercom_identity._internal import crypto
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase, WorkspaceSnapshot
from tests import leakguard
from tests.helpers import (
    DEV_PERMS,
    OVERVIEW,
    configure,
    staff_client,
)
from tests.intercom_fake import TOKENS, FakeIntercom, ago, log_entry

pytestmark = pytest.mark.django_db

NEW_TOKEN = "dG9rOmFkbWluLTk5OTktODg4OC03Nzc3LTY2NjY1NTU1NDQ0NDoxOjA="
leakguard.remember_secret(NEW_TOKEN)


@pytest.fixture
def root() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def sync_url(env: str) -> str:
    return reverse("admin:intercom_identity_platformconfig_workspace_sync", args=[env])


def section(page: str, env: str) -> str:
    """The overview's block of one environment: from its heading to the next one."""
    start = page.index(f'id="env-{env}"')
    following = page.find('<h2 id="env-', start + 1)
    return page[start : following if following != -1 else None]


def test_sync_from_the_overview_shows_the_drift_banner_and_intercoms_state(
    root: Client, intercom: FakeIntercom
) -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    AuditEvent.objects.filter(environment="production").update(created_at=ago(days=3))
    intercom.answer(
        identity_verification=True,
        pages=[
            [
                log_entry("71", "app_identity_verification_change", ago(hours=2), description="Enforced it"),
                log_entry("70", "security_settings_change", ago(days=5), description="Changed settings"),
            ]
        ],
    )
    page = root.get(OVERVIEW).content.decode()
    assert 'value="Sync with Intercom"' in section(page, "production")
    assert "not synced yet" in section(page, "production")

    response = root.post(sync_url("production"), follow=True)
    assert response.redirect_chain[-1][0].endswith("#env-production")
    page = response.content.decode()
    intercom.assert_sent_by_the_sdk(TOKENS["production"], "/me", "/admins/activity_logs")
    assert "Synced Production with Intercom: 1 drift finding(s)." in page
    block = section(page, "production")
    assert 'data-code="intercom_enforces_unrecorded"' in block
    assert re.search(r'class="identity-verification">\s*enforced', block)
    assert "prodapp1" in block
    # The history interleaves this app's audit trail with Intercom's events, marked as Intercom's.
    timeline = block[block.index("intercom-timeline") :]
    assert re.search(r'from-intercom">.*?<strong>Intercom</strong>.*?john@example.com.*?Enforced it', timeline, re.S)
    assert re.search(r'from-app">.*?this app.*?iOS: Phase: Off → Sending \(not enforced\)', timeline, re.S)
    rows = re.findall(r'<tr class="(from-\w+)">.*?<td>(.*?)</td>', timeline, re.S)
    assert [source for source, _when in rows] == ["from-intercom", "from-app", "from-app", "from-intercom"]
    assert [when for _source, when in rows] == sorted((when for _source, when in rows), reverse=True)
    assert TOKENS["production"] not in page


def test_a_failed_sync_says_why_and_the_overview_remembers(
    root: Client, intercom: FakeIntercom, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/me").respond_with_json({"type": "error.list", "errors": []}, status=401)
    page = root.post(sync_url("production"), follow=True).content.decode()
    assert "Could not sync Production with Intercom: Intercom refused the access token" in page
    assert "The last sync" in section(page, "production")
    assert TOKENS["production"] not in page


def test_an_unexpected_error_in_the_sdk_is_a_message_not_an_error_page(
    root: Client, intercom: FakeIntercom, monkeypatch: Any
) -> None:
    def broken(self: Any, request: Any, **kwargs: Any) -> Any:
        raise RuntimeError(request.headers["Authorization"])

    monkeypatch.setattr(httpx.Client, "send", broken)
    response = root.post(sync_url("production"), follow=True)
    assert response.status_code == 200
    assert "failed unexpectedly (GET /me: RuntimeError)" in response.content.decode()


def test_the_sync_button_is_a_post(root: Client, intercom: FakeIntercom) -> None:
    assert root.get(sync_url("production")).status_code == 405
    assert root.post(sync_url("nowhere")).status_code == 404
    assert intercom.requests() == []


@pytest.mark.parametrize(
    ("perms", "env", "allowed"),
    [
        (("view_platformconfig",), "development", False),
        (DEV_PERMS, "development", True),
        (DEV_PERMS, "production", False),
        ((*DEV_PERMS, "manage_production"), "production", True),
    ],
)
def test_who_may_sync(intercom: FakeIntercom, perms: tuple[str, ...], env: str, allowed: bool) -> None:
    intercom.answer(identity_verification=False, id_code="devapp01" if env == "development" else "prodapp1")
    client = staff_client("staffer", *perms)
    block = section(client.get(OVERVIEW).content.decode(), env)
    assert ('value="Sync with Intercom"' in block) is allowed
    response = client.post(sync_url(env))
    assert response.status_code == (302 if allowed else 403)
    assert WorkspaceSnapshot.objects.filter(environment__slug=env).exists() is allowed


def test_without_a_token_the_overview_says_how_to_connect(root: Client, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    block = section(root.get(OVERVIEW).content.decode(), "development")
    assert "not connected" in block
    assert 'value="Sync with Intercom"' not in block
    assert "intercom-drift" not in block


def test_the_confirmation_page_shows_the_relevant_findings(root: Client, intercom: FakeIntercom) -> None:
    ios = configure("production", "ios", RolloutPhase.SENDING)
    configure("production", "android", RolloutPhase.ENFORCED)
    WorkspaceSnapshot.objects.create(
        environment=Environment.objects.get(slug="production"),
        fetched_at=ago(hours=1),
        identity_verification=False,
        app_id_code="other_app",
    )
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[ios.pk])
    page = root.get(url, {"to": "phase:enforced"}).content.decode()
    assert 'data-code="app_id_mismatch"' in page  # the workspace's
    assert "recorded_enforced_not_in_intercom" not in page  # android's, not this change's
    android = PlatformConfig.objects.get(environment__slug="production", platform="android")
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[android.pk])
    page = root.get(url, {"to": "phase:sending"}).content.decode()
    assert 'data-code="recorded_enforced_not_in_intercom"' in page


# --- the token in the environment admin -------------------------------------------------


def change_url(env: str) -> str:
    return reverse("admin:intercom_identity_environment_change", args=[Environment.objects.get(slug=env).pk])


def form_data(env: str, **extra: str) -> dict[str, str]:
    environment = Environment.objects.get(slug=env)
    return {
        "slug": environment.slug,
        "label": environment.label,
        "app_id": environment.app_id,
        "region": environment.region,
        "is_production": "on" if environment.is_production else "",
        "platforms-TOTAL_FORMS": "3",
        "platforms-INITIAL_FORMS": "3",
        **{f"platforms-{n}-id": str(pk) for n, pk in enumerate(environment.platforms.values_list("pk", flat=True))},
        **{f"platforms-{n}-environment": str(environment.pk) for n in range(3)},
        **extra,
    }


def test_the_token_is_write_only_in_the_admin(root: Client, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    response = root.post(change_url("production"), form_data("production", new_api_token=NEW_TOKEN, region="eu"))
    assert response.status_code == 302, response.content.decode()[:3000]
    env = Environment.objects.get(slug="production")
    assert (env.api_token(), env.region) == (NEW_TOKEN, "eu")
    page = root.get(change_url("production")).content.decode()
    assert NEW_TOKEN not in page
    assert env.encrypted_api_token not in page
    assert fingerprint(NEW_TOKEN) in page
    assert 'name="new_api_token"' in page
    assert re.search(r'<input type="password" name="new_api_token"[^>]*>', page)
    assert "value=" not in re.search(r'<input type="password" name="new_api_token"[^>]*>', page)[0]
    history = LogEntry.objects.get(object_id=str(env.pk)).get_change_message()
    assert f"API token (fingerprint none → {fingerprint(NEW_TOKEN)})" in history
    assert "New Intercom API token" not in history
    assert NEW_TOKEN not in history
    assert AuditEvent.objects.filter(kind="api_token", to_value=fingerprint(NEW_TOKEN), actor_label="root").exists()
    # Clearing it.
    root.post(change_url("production"), form_data("production", clear_api_token="on"))
    assert not Environment.objects.get(slug="production").has_api_token


def test_a_bad_token_is_a_form_error_that_does_not_repeat_it(root: Client, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    pasted = NEW_TOKEN + "\n"
    page = root.post(change_url("production"), form_data("production", new_api_token=pasted)).content.decode()
    assert "paste mistake" in page
    assert NEW_TOKEN not in page
    assert not Environment.objects.get(slug="production").has_api_token


def test_a_token_from_settings_has_no_field(root: Client, intercom: FakeIntercom) -> None:
    page = root.get(change_url("production")).content.decode()
    assert 'name="new_api_token"' not in page
    assert f"{fingerprint(TOKENS['production'])} (managed by settings)" in page
    listing = root.get(reverse("admin:intercom_identity_environment_changelist")).content.decode()
    assert "managed by settings" in listing
    assert TOKENS["production"] not in listing


def test_an_old_form_without_region_keeps_the_default(root: Client) -> None:
    data = form_data("development")
    del data["region"]
    assert root.post(change_url("development"), data).status_code == 302
    assert Environment.objects.get(slug="development").region == "us"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/intercom_identity/environment/?encrypted_api_token__startswith=g",
        "/admin/intercom_identity/environment/?encrypted_api_token=x",
        "/admin/intercom_identity/platformconfig/?environment__encrypted_api_token__startswith=g",
        "/admin/intercom_identity/platformconfig/?encrypted_secret__startswith=g",
    ],
)
def test_no_changelist_lookup_reads_the_encrypted_token(root: Client, url: str) -> None:
    assert root.get(url).status_code == 400


def test_a_failing_token_save_reports_without_the_token(root: Client, settings: Any, monkeypatch: Any) -> None:
    """Django's error report (what mail_admins sends) of a crash while the token is in hand hides it."""
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    reports: list[str] = []

    def on_exception(sender: Any, request: Any, **kwargs: Any) -> None:
        reporter = ExceptionReporter(request, *sys.exc_info())
        reports.extend([reporter.get_traceback_html(), reporter.get_traceback_text()])

    def broken_encrypt(plaintext: str) -> str:
        raise RuntimeError("key store went away")

    monkeypatch.setattr(crypto, "encrypt", broken_encrypt)
    got_request_exception.connect(on_exception)
    try:
        client = Client(raise_request_exception=False)
        client.force_login(get_user_model().objects.get(username="root"))
        response = client.post(change_url("production"), form_data("production", new_api_token=NEW_TOKEN))
    finally:
        got_request_exception.disconnect(on_exception)
    assert response.status_code == 500
    assert len(reports) == 2
    assert "key store went away" in reports[0]
    assert "store_api_token" in reports[0]  # the token-holding frames are in it
    for report in reports:
        leakguard.record("error report", report)
        assert NEW_TOKEN not in report


def test_no_sync_button_without_the_permission_but_the_reason(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {"production": "dG9rOnByb2QtMDAwMC0xMTExOjE6MA=="}
    html = staff_client("dev", *DEV_PERMS).get(OVERVIEW).content.decode()
    production = html.split('class="intercom-workspace" data-environment="production"', 1)[1].split("</table>")[0]
    assert 'value="Sync with Intercom"' not in production
    assert "Syncing needs the manage-production permission" in production


def test_an_unconnected_environment_links_to_its_token_field(admin_client: Client) -> None:
    html = admin_client.get(OVERVIEW).content.decode()
    development = html.split('class="intercom-workspace" data-environment="development"', 1)[1].split("</table>")[0]
    url = reverse("admin:intercom_identity_environment_change", args=[Environment.objects.get(slug="development").pk])
    assert f'href="{url}#id_new_api_token"' in development

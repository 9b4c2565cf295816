"""The admin reads as one product: no dead ends (a button is there only where its action can
succeed; otherwise the reason and the step that unblocks it), percentages with one decimal,
"just now", labels in headings, one arrow, commands rendered as code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase, WorkspaceSnapshot
from tests.conftest import below_threshold, configure, forced_enforcement, staff_client

pytestmark = pytest.mark.django_db

OVERVIEW = "/admin/intercom_identity/platformconfig/overview/"
CHANGELIST = "/admin/intercom_identity/platformconfig/"
AUDIT = "/admin/intercom_identity/auditevent/"
PRODUCTION_PERMISSION = (
    "Needs the manage-production permission (“Can change secrets and phases of production environments”): "
    "ask an administrator to grant it."
)
DEV_PERMS = ("view_platformconfig", "change_platformconfig", "view_environment", "change_environment")


@pytest.fixture
def root(admin_client: Client) -> Client:
    return admin_client


def config_of(env: str, platform: str) -> PlatformConfig:
    return PlatformConfig.objects.select_related("environment").get(environment__slug=env, platform=platform)


def change_url(config: PlatformConfig) -> str:
    return reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])


def transition_url(config: PlatformConfig) -> str:
    return reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])


def overview_row(html: str, env: str, platform: str) -> str:
    """One platform's row of the overview (up to the row that follows it)."""
    table = html.split(f'data-environment="{env}">', 1)[1].split("</table>", 1)[0]
    return table.split(f'<tr data-platform="{platform}">', 1)[1].split("</tr>", 1)[0]


# --- dead ends: the overview ------------------------------------------------------------


def test_overview_offers_no_move_that_needs_a_missing_secret(root: Client) -> None:
    """Production rows without a secret used to offer "sending →" to a page whose only button was disabled."""
    configure("production", "ios")
    html = root.get(OVERVIEW).content.decode()
    web = overview_row(html, "production", "web")
    assert "?to=phase" not in web
    assert "No secret yet" in web
    assert f'href="{change_url(config_of("production", "web"))}#id_new_secret"' in web
    assert "?to=phase%3Asending" in overview_row(html, "production", "ios")  # it has one: the move is offered


def test_overview_names_the_missing_production_permission() -> None:
    configure("production", "ios")
    html = staff_client("dev", *DEV_PERMS).get(OVERVIEW).content.decode()
    ios = overview_row(html, "production", "ios")
    assert "?to=phase" not in ios
    assert PRODUCTION_PERMISSION in ios
    assert "No secret yet" not in overview_row(html, "production", "web")  # setting it would be refused too


def test_overview_offers_the_move_back_without_a_secret(root: Client) -> None:
    """Back to off needs no secret: a row that lost it (settings removed) can still go back."""
    config = config_of("development", "web")
    PlatformConfig.objects.filter(pk=config.pk).update(phase=RolloutPhase.SENDING)
    row = overview_row(root.get(OVERVIEW).content.decode(), "development", "web")
    assert "?to=phase%3Aoff" in row
    assert "?to=phase%3Aenforced" not in row
    assert "No secret yet" in row


# --- dead ends: the change form ---------------------------------------------------------


def test_change_form_shows_no_phase_button_a_missing_secret_blocks(root: Client) -> None:
    config = config_of("development", "ios")
    html = root.get(change_url(config)).content.decode()
    phase = html.split('data-field="phase"', 1)[1].split('data-field="credential_mode"', 1)[0]
    assert "?to=phase" not in phase
    assert "No secret yet" in phase
    assert 'href="' + change_url(config) + '#id_new_secret"' in phase
    assert 'id="id_new_secret"' in html  # the step is on this very page
    mode = html.split('data-field="credential_mode"', 1)[1].split("</fieldset>", 1)[0]
    assert "?to=credential_mode%3Ajwt" in mode  # a mode change needs no secret


def test_change_form_read_only_for_production_says_which_permission() -> None:
    configure("production", "ios")
    html = staff_client("dev", *DEV_PERMS).get(change_url(config_of("production", "ios"))).content.decode()
    assert "?to=" not in html
    assert PRODUCTION_PERMISSION in html
    assert 'name="new_secret"' not in html


def test_environment_page_says_why_it_is_read_only_and_why_it_cannot_be_deleted(root: Client) -> None:
    production = Environment.objects.get(slug="production")
    html = staff_client("dev", *DEV_PERMS).get(
        reverse("admin:intercom_identity_environment_change", args=[production.pk])
    )
    assert "Read only: changes to a production environment need the manage-production permission" in html.text
    assert "New api token" not in html.text  # no empty write-only fields on a read-only page
    assert "Clear api token" not in html.text
    configure("development", "ios", RolloutPhase.SENDING)
    development = Environment.objects.get(slug="development")
    page = root.get(reverse("admin:intercom_identity_environment_change", args=[development.pk])).content.decode()
    assert "deletelink" not in page
    assert "To delete this environment, first move every platform to Off (now iOS: Sending (not enforced))" in page
    assert f"?environment__id__exact={development.pk}" in page


# --- dead ends: the transition page -----------------------------------------------------


def test_mixed_selection_the_user_may_not_change_shows_no_form() -> None:
    """A selection mixing a production row the user may not change used to show a disabled
    button, yet still ask for a reason and offer "Enforce anyway"."""
    below_threshold()  # development iOS, sending, 1 of 4 users ready
    configure("production", "ios", RolloutPhase.SENDING)
    client = staff_client("dev", *DEV_PERMS)
    dev, prod = config_of("development", "ios"), config_of("production", "ios")
    html = client.post(
        CHANGELIST, {"action": "move_to_enforced", "_selected_action": [dev.pk, prod.pk]}
    ).content.decode()
    blockers = html.split('id="blockers"', 1)[1].split("</div>", 1)[0]
    assert "Production / iOS" in blockers
    assert PRODUCTION_PERMISSION in blockers
    for absent in ('name="reason"', 'name="force"', 'name="confirm"', "Enforce anyway", "Yes, move to", "disabled"):
        assert absent not in html
    # What can succeed: going on with the row this user may change (confirmed again, guard and all).
    form = html.split('id="blockers"', 1)[1].split('id="continue-without"', 1)[0]
    assert re.findall(r'name="_selected_action" value="(\d+)"', form) == [str(dev.pk)]
    assert 'name="review" value="yes"' in form
    page = client.post(
        CHANGELIST, {"action": "move_to_enforced", "_selected_action": [dev.pk], "review": "yes"}
    ).content.decode()
    assert 'id="readiness"' in page
    assert 'name="force"' in page
    assert config_of("development", "ios").phase == RolloutPhase.SENDING  # reviewed, not applied


def test_narrowed_safe_selection_is_confirmed_not_applied_at_once(root: Client) -> None:
    ios = configure("development", "ios")
    page = root.post(CHANGELIST, {"action": "move_to_sending", "_selected_action": [ios.pk], "review": "yes"})
    assert 'value="Yes, move to Sending (not enforced)"' in page.content.decode()
    assert config_of("development", "ios").phase == RolloutPhase.OFF


def test_below_threshold_the_button_needs_the_force_and_the_reason(root: Client) -> None:
    config = below_threshold()
    html = root.get(transition_url(config) + "?to=phase:enforced").content.decode()
    assert re.search(r'<textarea name="reason" id="id_reason" rows="2" required>', html)
    assert re.search(r'<input type="checkbox" name="force" value="yes" id="id_force" required>', html)


# --- dead ends: workspace and check pages -----------------------------------------------


def test_no_sync_button_without_the_permission_but_the_reason(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {"production": "dG9rOnByb2QtMDAwMC0xMTExOjE6MA=="}
    html = staff_client("dev", *DEV_PERMS).get(OVERVIEW).content.decode()
    production = html.split('class="intercom-workspace" data-environment="production"', 1)[1].split("</table>")[0]
    assert 'value="Sync with Intercom"' not in production
    assert "Syncing needs the manage-production permission" in production


def test_an_unconnected_environment_links_to_its_token_field(root: Client) -> None:
    html = root.get(OVERVIEW).content.decode()
    development = html.split('class="intercom-workspace" data-environment="development"', 1)[1].split("</table>")[0]
    url = reverse("admin:intercom_identity_environment_change", args=[Environment.objects.get(slug="development").pk])
    assert f'href="{url}#id_new_api_token"' in development


def test_check_without_a_secret_links_to_where_it_is_set(root: Client) -> None:
    url = reverse("admin:intercom_identity_platformconfig_check")
    html = root.post(url, {"environment": "development", "platform": "ios", "user_id": "1", "user_hash": "ab" * 32})
    page = html.content.decode()
    assert "No Intercom secret is stored for Development / test / iOS." in page
    assert f'href="{change_url(config_of("development", "ios"))}#id_new_secret"' in page


def test_check_page_renders_the_command_as_code(root: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    url = reverse("admin:intercom_identity_platformconfig_check")
    html = root.post(url, {"environment": "development", "platform": "ios", "user_id": "1", "user_hash": "ab" * 32})
    result = html.content.decode().split('id="check-result"', 1)[1].split("</div>", 1)[0]
    assert 'data-reason="mismatch"' in result
    assert "<code>manage.py intercom_identity hash</code>" in result
    assert "`" not in result
    assert "How to fix it: Nothing to verify" not in html.content.decode()


def test_check_page_says_nothing_to_check_without_an_identifier(root: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    url = reverse("admin:intercom_identity_platformconfig_check")
    page = root.post(url, {"environment": "development", "platform": "ios"}).content.decode()
    result = page.split('id="check-result"', 1)[1].split("</div>", 1)[0]
    assert "<h3>Nothing to check</h3>" in result
    assert "Enter the <code>user_id</code> or the <code>email</code> the app sends" in result
    assert "Fix:" not in result


def test_check_page_hash_field_takes_64_characters(root: Client) -> None:
    page = root.get(reverse("admin:intercom_identity_platformconfig_check")).content.decode()
    assert re.search(r'<input type="text" name="user_hash" class="vTextField intercom-hash"', page)
    assert 'class="module aligned' in page  # laid out as the admin lays out its forms


# --- percentages, "just now", labels, arrows --------------------------------------------


def test_percentages_have_one_decimal_on_every_page(root: Client) -> None:
    config = below_threshold()  # 1 of 4: 25.0% against 95.0%
    event = forced_enforcement()
    overview = overview_row(root.get(OVERVIEW).content.decode(), "development", "ios")
    assert "25.0% (1 / 4)" in overview
    assert "threshold 95.0%" in overview
    guard = root.get(transition_url(config) + "?to=phase:enforced").content.decode()
    readiness = guard.split('id="readiness"', 1)[1].split("</table>", 1)[0]
    assert '<td class="intercom-below">25.0%</td>' in readiness
    assert "<td>95.0%</td>" in readiness
    listing = root.get(AUDIT).content.decode()
    assert "85.7%" in listing
    assert "0.857142" not in listing
    detail = root.get(reverse("admin:intercom_identity_auditevent_change", args=[event.pk])).content.decode()
    assert "85.7%" in detail
    assert "0.857142" not in detail
    refused = root.post(transition_url(config), {"transition": "phase:enforced", "confirm": "yes"}, follow=True)
    assert "adoption is 25.0% (1 of 4 active users in the last 30 days), threshold 95.0%" in refused.content.decode()


def test_a_secret_set_a_moment_ago_was_set_just_now(root: Client) -> None:
    config = configure("development", "ios")
    assert "set <time" in root.get(OVERVIEW).content.decode()
    for url in (OVERVIEW, CHANGELIST, change_url(config)):
        html = root.get(url).content.decode()
        assert re.search(r"set <time datetime=\"[^\"]+\" title=\"[^\"]+\">just now</time>", html), url
        assert "0\xa0minutes" not in html, url
    PlatformConfig.objects.filter(pk=config.pk).update(secret_set_at=timezone.now() - timedelta(days=3, hours=2))
    assert ">3\xa0days ago</time>" in root.get(CHANGELIST).content.decode()


def test_synced_just_now(root: Client) -> None:
    WorkspaceSnapshot.objects.create(
        environment=Environment.objects.get(slug="development"),
        fetched_at=timezone.now(),
        attempted_at=timezone.now(),
        identity_verification=False,
        app_id_code="",
    )
    html = root.get(OVERVIEW).content.decode()
    assert re.search(r"synced <time[^>]*>just now</time>", html)


def test_audit_headings_use_labels_and_one_arrow(root: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    event = AuditEvent.objects.get(kind="phase")
    detail = root.get(reverse("admin:intercom_identity_auditevent_change", args=[event.pk])).content.decode()
    heading = "Development / test / iOS: Phase: Off → Sending (not enforced)"
    assert f"<h2>{heading}</h2>" in detail
    assert "development/ios" not in detail
    assert "-&gt;" not in detail
    listing = root.get(AUDIT).content.decode()
    assert "Phase: Off → Sending (not enforced)" in listing
    assert "-&gt;" not in listing


def test_overview_headings_read_alike(root: Client) -> None:
    html = root.get(OVERVIEW).content.decode()
    development = html.split('<h2 id="env-development">', 1)[1].split("</h2>", 1)[0]
    production = html.split('<h2 id="env-production">', 1)[1].split("</h2>", 1)[0]
    assert development.split("<span")[0].strip() == "Development / test"
    assert production.split("<span")[0].strip() == "Production"
    assert '<span class="intercom-badge">this server</span>' in development
    assert "intercom-badge intercom-badge-live" in production
    assert "— production" not in html
    assert "(this server)" not in html


def test_phase_buttons_use_labels_and_one_arrow_style(root: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    row = overview_row(root.get(OVERVIEW).content.decode(), "development", "ios")
    assert re.search(r'title="Move to Off">← Off</a>', row)
    assert re.search(r'title="Move to Enforced">Enforced →</a>', row)
    assert "&larr;" not in row
    assert "&rarr;" not in row

"""The configurations in the admin (admin/platform_configs.py): the write-only secret, the phase
buttons and actions, who may change what, and the audit of every change."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import AuditEvent, Environment, PlatformConfig, RolloutPhase
from tests.helpers import (
    CHANGELIST,
    DEV_PERMS,
    PRODUCTION_PERMISSION,
    SECRETS,
    below_threshold,
    change_url,
    config_of,
    configure,
    ios,
    make_ready,
    staff_client,
    transition_url,
)

pytestmark = pytest.mark.django_db

NEW_SECRET = "replacement-secret-5f4e3d2c1b0a99887766554433"


@pytest.fixture
def superuser_client(db: None) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dev_staff() -> Client:
    """May change configurations, but not production ones."""
    return staff_client("dev", "view_platformconfig", "change_platformconfig", "view_environment", "change_environment")


@pytest.fixture
def prod_staff() -> Client:
    return staff_client(
        "ops",
        "view_platformconfig",
        "change_platformconfig",
        "view_environment",
        "change_environment",
        "manage_production",
    )


# --- pages ---------------------------------------------------------------------------


def test_pages_show_fingerprint_never_the_secret(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("production", "ios")
    superuser_client.post(change_url(config), {"new_secret": NEW_SECRET})  # history has an entry
    config.refresh_from_db()
    pages = [
        CHANGELIST,
        change_url(config),
        "/admin/intercom_identity/environment/",
        reverse("admin:intercom_identity_environment_change", args=[config.environment.pk]),
        transition_url(config) + "?to=phase:sending",
        change_url(config).replace("change/", "history/"),
        "/admin/",
    ]
    for url in pages:
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in [*SECRETS.values(), NEW_SECRET]:
            assert secret not in html, url
            assert config.encrypted_secret not in html, url
    assert fingerprint(NEW_SECRET) in superuser_client.get(change_url(config)).content.decode()


def test_secret_field_is_write_only(superuser_client: Client, all_secrets: Any) -> None:
    html = superuser_client.get(change_url(config_of("development", "ios"))).content.decode()
    assert 'type="password"' in html
    assert 'name="new_secret"' in html
    assert 'name="encrypted_secret"' not in html


def test_setting_a_secret_through_the_form(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("development", "ios")
    old = config.secret_fingerprint
    response = superuser_client.post(change_url(config), {"new_secret": NEW_SECRET})
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.secret() == NEW_SECRET
    assert config.secret_fingerprint == fingerprint(NEW_SECRET)
    entry = LogEntry.objects.get(object_id=str(config.pk))
    assert entry.get_change_message() == f"Secret (fingerprint): {old} → {fingerprint(NEW_SECRET)}."
    assert NEW_SECRET not in entry.change_message


def test_empty_secret_keeps_the_current_one(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("development", "ios")
    superuser_client.post(change_url(config), {"new_secret": ""})
    config.refresh_from_db()
    assert config.secret() == SECRETS[("development", "ios")]


@pytest.mark.parametrize("bad", [NEW_SECRET + "\n", " " + NEW_SECRET, NEW_SECRET + "\t", "ab\x00" + NEW_SECRET])
def test_pasted_whitespace_is_refused_without_echo(superuser_client: Client, all_secrets: Any, bad: str) -> None:
    config = config_of("development", "ios")
    response = superuser_client.post(change_url(config), {"new_secret": bad})
    assert response.status_code == 200
    html = response.content.decode()
    assert "errorlist" in html
    assert NEW_SECRET not in html
    config.refresh_from_db()
    assert config.secret() == SECRETS[("development", "ios")]


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("s3cr3t", "The secret has 6 characters; Intercom&#x27;s identity verification secrets have 40"),
        ("devapp1234567890abcd", "The secret is an Intercom app ID. The app ID is public"),
        (SECRETS[("production", "ios")], "The secret is the one already stored for Production / iOS."),
    ],
)
def test_a_secret_that_looks_like_a_mistake_is_refused_saying_which(
    superuser_client: Client, all_secrets: Any, secret: str, says: str
) -> None:
    Environment.objects.filter(slug="development").update(app_id="devapp1234567890abcd")
    config = config_of("development", "ios")
    response = superuser_client.post(change_url(config), {"new_secret": secret})
    assert response.status_code == 200
    html = response.content.decode()
    errors = html.split('class="errorlist', 1)[1].split("</ul>", 1)[0]
    assert says in errors
    assert secret not in html
    config.refresh_from_db()
    assert config.secret() == SECRETS[("development", "ios")]


def test_rows_cannot_be_added_or_deleted(superuser_client: Client, all_secrets: Any) -> None:
    assert superuser_client.get(CHANGELIST + "add/").status_code == 403
    config = config_of("development", "ios")
    assert superuser_client.get(change_url(config).replace("change/", "delete/")).status_code == 403


# --- phases --------------------------------------------------------------------------


def test_phase_button_asks_then_applies(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("development", "web")
    make_ready("development", "web")
    assert (
        'href="' + transition_url(config) + '?to=phase%3Aenforced"'
        in superuser_client.get(change_url(config)).content.decode()
    )
    page = superuser_client.get(transition_url(config) + "?to=phase:enforced")
    assert page.status_code == 200
    assert b"versions that do not will stop working" in page.content
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING  # a GET changes nothing

    response = superuser_client.post(
        transition_url(config), {"transition": "phase:enforced", "confirm": "yes", "acknowledge_web": "yes"}
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.phase == RolloutPhase.ENFORCED
    assert LogEntry.objects.filter(
        object_id=str(config.pk), change_message="Phase: Sending (not enforced) → Enforced."
    ).exists()


def test_phase_view_rejects_unknown_phase(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("development", "web")
    response = superuser_client.post(transition_url(config), {"transition": "phase:maximum", "confirm": "yes"})
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING


def test_phase_view_404_for_unknown_row(superuser_client: Client) -> None:
    assert (
        superuser_client.get(reverse("admin:intercom_identity_platformconfig_transition", args=[999999])).status_code
        == 404
    )


def test_phase_needs_a_secret(superuser_client: Client) -> None:
    config = config_of("development", "ios")
    page = superuser_client.get(transition_url(config) + "?to=phase:sending").content.decode()
    # No form that could not succeed: the reason, and a link to where the secret is set.
    blockers = page.split('id="blockers"', 1)[1].split("</div>", 1)[0]
    assert "No secret yet" in blockers
    assert f'href="{change_url(config)}#id_new_secret"' in blockers
    assert 'name="confirm"' not in page
    assert 'name="reason"' not in page
    assert "Yes, move to" not in page
    response = superuser_client.post(
        transition_url(config), {"transition": "phase:sending", "confirm": "yes"}, follow=True
    )
    assert "no stored secret" in response.content.decode()
    config.refresh_from_db()
    assert config.phase == RolloutPhase.OFF
    assert not LogEntry.objects.exists()


def action(client: Client, name: str, configs: list[PlatformConfig], **extra: str) -> Any:
    return client.post(CHANGELIST, {"action": name, "_selected_action": [c.pk for c in configs], **extra}, follow=True)


def test_action_moves_to_sending_and_records_history(superuser_client: Client) -> None:
    ios = configure("development", "ios")
    android = configure("development", "android")
    response = action(superuser_client, "move_to_sending", [ios, android])
    assert response.status_code == 200
    assert {c.phase for c in PlatformConfig.objects.filter(pk__in=[ios.pk, android.pk])} == {"sending"}
    assert LogEntry.objects.filter(change_message="Phase: Off → Sending (not enforced).").count() == 2


def test_enforce_action_confirms_first(superuser_client: Client, all_secrets: Any) -> None:
    ios = config_of("development", "ios")
    make_ready("development", "ios")
    page = action(superuser_client, "move_to_enforced", [ios])
    assert b'value="Yes, move to Enforced"' in page.content
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.SENDING
    action(superuser_client, "move_to_enforced", [ios], confirm="yes")
    ios.refresh_from_db()
    assert ios.phase == RolloutPhase.ENFORCED


def test_action_is_all_or_nothing_when_a_secret_is_missing(superuser_client: Client) -> None:
    ios = configure("development", "ios")
    android = config_of("development", "android")  # no secret
    response = action(superuser_client, "move_to_sending", [ios, android])
    assert "Nothing was changed" in response.content.decode()
    assert set(PlatformConfig.objects.values_list("phase", flat=True)) == {"off"}


# --- production permission ----------------------------------------------------------


def test_dev_staff_can_change_development(dev_staff: Client, all_secrets: Any) -> None:
    config = config_of("development", "ios")
    assert dev_staff.post(change_url(config), {"new_secret": NEW_SECRET}).status_code == 302
    dev_staff.post(transition_url(config), {"transition": "phase:off", "confirm": "yes"})
    config.refresh_from_db()
    assert config.phase == RolloutPhase.OFF
    assert config.secret() == NEW_SECRET


def test_dev_staff_cannot_change_production(dev_staff: Client, all_secrets: Any) -> None:
    config = config_of("production", "ios")
    page = dev_staff.get(change_url(config))
    assert page.status_code == 200  # view permission: read-only page
    assert b'name="new_secret"' not in page.content
    assert dev_staff.post(change_url(config), {"new_secret": NEW_SECRET}).status_code == 403
    assert dev_staff.post(transition_url(config), {"transition": "phase:sending", "confirm": "yes"}).status_code == 403
    page = action(dev_staff, "move_to_sending", [config, config_of("development", "android")])
    assert "Needs the manage-production permission" in page.content.decode()  # said up front
    response = action(dev_staff, "move_to_sending", [config, config_of("development", "android")], confirm="yes")
    assert "needs the manage-production permission" in response.content.decode()
    config.refresh_from_db()
    assert config.phase == RolloutPhase.OFF
    assert config.secret() == SECRETS[("production", "ios")]
    assert config_of("development", "android").phase == RolloutPhase.SENDING
    env_url = reverse("admin:intercom_identity_environment_change", args=[config.environment.pk])
    assert dev_staff.post(env_url, {"label": "Hijacked", "app_id": "x"}).status_code == 403


def test_prod_staff_can_change_production(prod_staff: Client, all_secrets: Any) -> None:
    config = config_of("production", "ios")
    prod_staff.post(transition_url(config), {"transition": "phase:sending", "confirm": "yes"})
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING


def test_staff_without_permissions_sees_nothing(db: None, all_secrets: Any) -> None:
    client = staff_client("nobody")
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(transition_url(config_of("development", "ios"))).status_code == 403


def test_anonymous_is_sent_to_login(client: Client, all_secrets: Any) -> None:
    response = client.get(transition_url(config_of("development", "ios")) + "?to=phase:off")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_phase_view_404_for_malformed_id(superuser_client: Client) -> None:
    response = superuser_client.get("/admin/intercom_identity/platformconfig/abc/transition/?to=phase:sending")
    assert response.status_code == 404


def test_saving_a_secret_keeps_a_phase_changed_meanwhile(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("development", "ios")
    PlatformConfig.objects.filter(pk=config.pk).update(phase="enforced")  # another admin, after our form loaded
    superuser_client.post(change_url(config), {"new_secret": NEW_SECRET})
    config.refresh_from_db()
    assert config.phase == RolloutPhase.ENFORCED
    assert config.secret() == NEW_SECRET


def test_production_actions_ask_for_confirmation(superuser_client: Client, all_secrets: Any, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = ["production"]  # served here: its change is live
    config = config_of("production", "web")
    page = action(superuser_client, "move_to_sending", [config])
    assert "This changes a production environment" in page.content.decode()
    config.refresh_from_db()
    assert config.phase == RolloutPhase.OFF
    action(superuser_client, "move_to_sending", [config], confirm="yes")
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING


def test_changelist_cannot_filter_on_the_encrypted_secret(superuser_client: Client, all_secrets: Any) -> None:
    response = superuser_client.get(CHANGELIST, {"encrypted_secret__startswith": "gAAAA"})
    assert response.status_code in (302, 400)


# --- rollout through the admin ----------------------------------------------------


def transition(client: Client, config: PlatformConfig, key: str, **extra: str) -> Any:
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])
    return client.post(url, {"transition": key, "confirm": "yes", **extra}, follow=True)


def test_guard_through_the_admin(admin_client: Client, admin_user: Any) -> None:
    config = below_threshold()
    url = reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])
    page = admin_client.get(url, {"to": "phase:enforced"}).content.decode()
    assert 'id="readiness"' in page
    assert "25.0%" in page
    assert "95.0%" in page
    assert 'name="force"' in page

    refused = transition(admin_client, config, "phase:enforced").content.decode()
    assert "Refusing to enforce" in refused
    assert ios().phase == RolloutPhase.SENDING

    no_reason = transition(admin_client, config, "phase:enforced", force="yes").content.decode()
    assert "needs a written reason" in no_reason
    assert ios().phase == RolloutPhase.SENDING

    transition(admin_client, config, "phase:enforced", force="yes", reason="launch day")
    assert ios().phase == RolloutPhase.ENFORCED
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert (event.actor, event.actor_label, event.forced, event.reason) == (admin_user, "admin", True, "launch day")


def test_admin_secret_and_min_version_changes_are_audited_with_the_actor(admin_client: Client, admin_user: Any) -> None:
    config = configure("development", "ios")
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
    admin_client.post(url, {"new_secret": "admin-set-secret-0011223344556677889900", "min_sending_version": "4.0"})
    events = AuditEvent.objects.filter(actor=admin_user)
    assert set(events.values_list("kind", flat=True)) == {"secret", "min_sending_version"}
    config.refresh_from_db()
    assert config.min_sending_version == "4.0"


def test_admin_refuses_a_malformed_min_version(admin_client: Client) -> None:
    config = configure("development", "ios")
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
    response = admin_client.post(url, {"min_sending_version": "x" * 64 + "y"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_change_form_shows_no_phase_button_a_missing_secret_blocks(admin_client: Client) -> None:
    config = config_of("development", "ios")
    html = admin_client.get(change_url(config)).content.decode()
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


def test_enforcing_the_web_cites_intercom_and_needs_the_acknowledgement(
    superuser_client: Client, all_secrets: Any
) -> None:
    config = config_of("development", "web")
    make_ready("development", "web")
    page = superuser_client.get(transition_url(config) + "?to=phase:enforced").content.decode()
    assert "article 10589769" in page
    assert "cannot be turned off there" in page
    assert 'name="acknowledge_web" value="yes" id="id_acknowledge_web" required' in page

    response = superuser_client.post(
        transition_url(config), {"transition": "phase:enforced", "confirm": "yes"}, follow=True
    )
    assert "tick the acknowledgement" in response.content.decode()
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING  # refused without it


def test_enforcing_ios_asks_no_web_acknowledgement(superuser_client: Client, all_secrets: Any) -> None:
    config = config_of("development", "ios")
    make_ready("development", "ios")
    page = superuser_client.get(transition_url(config) + "?to=phase:enforced").content.decode()
    assert "acknowledge_web" not in page
    superuser_client.post(transition_url(config), {"transition": "phase:enforced", "confirm": "yes"})
    config.refresh_from_db()
    assert config.phase == RolloutPhase.ENFORCED


def test_the_web_acknowledgement_is_localized(superuser_client: Client, all_secrets: Any) -> None:
    from django.utils import translation

    from intercom_identity.admin.pages.transition import WEB_ACKNOWLEDGEMENT, WEB_ONE_WAY

    # Lazy translations: each request renders them in its own language.
    assert type(WEB_ONE_WAY).__name__ == type(WEB_ACKNOWLEDGEMENT).__name__ == "__proxy__"
    with translation.override("en"):
        assert "Intercom will not let web enforcement be turned off" in str(WEB_ACKNOWLEDGEMENT)

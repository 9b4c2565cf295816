"""The environments in the admin: what a user may change or delete, and why not."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from tests.helpers import (
    DEV_PERMS,
    OVERVIEW,
    configure,
    staff_client,
)

pytestmark = pytest.mark.django_db


def test_environment_page_says_why_it_is_read_only_and_why_it_cannot_be_deleted(admin_client: Client) -> None:
    production = Environment.objects.get(slug="production")
    html = staff_client("dev", *DEV_PERMS).get(
        reverse("admin:intercom_identity_environment_change", args=[production.pk])
    )
    assert "Read only: changes to a production environment need the manage-production permission" in html.text
    assert "New api token" not in html.text  # no empty write-only fields on a read-only page
    assert "Clear api token" not in html.text
    configure("development", "ios", RolloutPhase.SENDING)
    development = Environment.objects.get(slug="development")
    page = admin_client.get(
        reverse("admin:intercom_identity_environment_change", args=[development.pk])
    ).content.decode()
    assert "deletelink" not in page
    assert "To delete this environment, first move every platform to Off (now iOS: Sending (not enforced))" in page
    assert f"?environment__id__exact={development.pk}" in page


def test_environment_with_active_phase_cannot_be_deleted(admin_client: Client, all_secrets: Any) -> None:
    development = Environment.objects.get(slug="development")
    url = reverse("admin:intercom_identity_environment_delete", args=[development.pk])
    assert admin_client.get(url).status_code == 403
    PlatformConfig.objects.filter(environment=development).update(phase="off")
    assert admin_client.get(url).status_code == 200


def test_new_environment_gets_its_platforms(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/intercom_identity/environment/add/",
        {
            "slug": "staging",
            "label": "Staging",
            "app_id": "stg1",
            "platforms-TOTAL_FORMS": "0",
            "platforms-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    staging = Environment.objects.get(slug="staging")
    assert sorted(staging.platforms.values_list("platform", "phase")) == [
        ("android", "off"),
        ("ios", "off"),
        ("web", "off"),
    ]


def test_environment_can_be_deleted_once_all_off(admin_client: Client) -> None:
    staging = Environment.objects.create(slug="staging", label="Staging")
    url = reverse("admin:intercom_identity_environment_delete", args=[staging.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Environment.objects.filter(slug="staging").exists()
    assert not PlatformConfig.objects.filter(environment__slug="staging").exists()


def test_environments_have_no_bulk_delete(admin_client: Client, all_secrets: Any) -> None:
    development = Environment.objects.get(slug="development")
    admin_client.post(
        "/admin/intercom_identity/environment/",
        {"action": "delete_selected", "_selected_action": [development.pk], "post": "yes"},
    )
    assert Environment.objects.filter(slug="development").exists()


def test_environment_slug_must_fit_the_setting(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/intercom_identity/environment/add/",
        {"slug": "Staging", "label": "Staging", "platforms-TOTAL_FORMS": "0", "platforms-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 200
    assert "lowercase letters" in response.content.decode()
    assert not Environment.objects.filter(slug="Staging").exists()


@pytest.mark.django_db
def test_the_environment_admin_has_no_bulk_delete_on_every_django(admin_client: Client) -> None:
    """Its ``get_actions`` override takes Django 6.1's ``action_location`` (an override without it is
    deprecated there, and would fail this test), and still drops ``delete_selected``."""
    response = admin_client.get("/admin/intercom_identity/environment/")
    assert response.status_code == 200
    request = RequestFactory().get("/admin/intercom_identity/environment/")
    request.user = response.wsgi_request.user
    assert "delete_selected" not in site.get_model_admin(Environment).get_actions(request)


def test_the_blocking_notices_are_warnings_not_success_messages(admin_client: Client) -> None:
    """ "To delete this environment, first move every platform to Off" used to show green, as a success."""
    configure("development", "ios", RolloutPhase.SENDING)
    development = Environment.objects.get(slug="development")
    page = admin_client.get(reverse("admin:intercom_identity_environment_change", args=[development.pk]))
    html = page.content.decode()
    assert '<li class="warning">To delete this environment, first move every platform to Off' in html
    assert '<li class="info">' not in html
    production = Environment.objects.get(slug="production")
    read_only = staff_client("dev", *DEV_PERMS).get(
        reverse("admin:intercom_identity_environment_change", args=[production.pk])
    )
    assert '<li class="warning">Read only: changes to a production environment' in read_only.content.decode()


@pytest.mark.parametrize(
    "page",
    [
        "/admin/intercom_identity/identityverificationoverview/",
        "/admin/intercom_identity/platformconfig/",
        "/admin/intercom_identity/environment/",
        "/admin/intercom_identity/auditevent/",
    ],
)
def test_a_web_platform_past_off_without_an_app_id_is_warned_about_on_every_page(
    admin_client: Client, page: str
) -> None:
    """Production/Web was enforced while Production had no app ID, and the overview said nothing
    (W007 looks at the environment this process serves only)."""
    configure("production", "web", RolloutPhase.ENFORCED)
    Environment.objects.filter(slug="production").update(app_id="")
    html = admin_client.get(page).content.decode()
    warning = re.search(r'<li class="warning">(Production / Web is in phase .*?)</li>', html)
    assert warning, page
    assert "but Production has no Intercom app ID: the web messenger cannot start there" in warning[1]
    production = Environment.objects.get(slug="production")
    assert reverse("admin:intercom_identity_environment_change", args=[production.pk]) in warning[1]
    Environment.objects.filter(slug="production").update(app_id="prod123")
    assert "has no Intercom app ID" not in admin_client.get(page).content.decode()
    for change in (reverse("admin:intercom_identity_environment_change", args=[production.pk]),):
        Environment.objects.filter(slug="production").update(app_id="")
        assert "has no Intercom app ID" in admin_client.get(change).content.decode()


# --- what this deployment serves (several workspaces) ----------------------------------------------------


# --- what this deployment serves ---------------------------------------------------------------


def environment_cell(html: str, slug: str) -> str:
    """The changelist's environment cell of ``slug``."""
    cells = re.findall(r'<th class="field-environment">(.*?)</th>', html, re.S)
    return next(cell for cell in cells if f'<span class="intercom-quiet">{slug}</span>' in cell)


def test_the_list_marks_served_environments_and_labels_the_others_records_only(admin_client: Client) -> None:
    Environment.objects.create(slug="staging", label="Staging")
    changelist = reverse("admin:intercom_identity_environment_changelist")
    with override_settings(
        INTERCOM_IDENTITY_ENVIRONMENT="production", INTERCOM_IDENTITY_SERVED_ENVIRONMENTS=["development"]
    ):
        html = admin_client.get(changelist).content.decode()
    production, development, staging = (
        environment_cell(html, slug) for slug in ("production", "development", "staging")
    )
    assert "served here · default" in production
    assert "served here</span>" in development
    assert "records only" not in production + development
    assert "records only</span>" in staging
    assert "no request here gets its credentials" in staging  # the one line on what that means


def test_an_unserved_environments_pages_say_what_records_only_means(admin_client: Client) -> None:
    production = Environment.objects.get(slug="production")
    config = PlatformConfig.objects.get(environment=production, platform="ios")
    for url in (
        reverse("admin:intercom_identity_environment_change", args=[production.pk]),
        reverse("admin:intercom_identity_platformconfig_change", args=[config.pk]),
        OVERVIEW,
    ):
        page = admin_client.get(url).content.decode()
        assert "Records only: this deployment does not serve this environment" in page, url
    development = Environment.objects.get(slug="development")
    page = admin_client.get(reverse("admin:intercom_identity_environment_change", args=[development.pk]))
    assert "Records only" not in page.content.decode()

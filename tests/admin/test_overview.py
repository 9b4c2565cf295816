"""The overview page (admin/pages/overview.py): the matrix, readiness, trend and buttons."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import (
    PlatformConfig,
    RolloutPhase,
)
from tests.helpers import (
    DEV_PERMS,
    OVERVIEW,
    PRODUCTION_PERMISSION,
    SECRETS,
    below_threshold,
    change_url,
    config_of,
    configure,
    overview_row,
    staff_client,
)

pytestmark = pytest.mark.django_db


def test_overview_shows_the_matrix(admin_client: Client) -> None:
    below_threshold()
    html = admin_client.get(OVERVIEW).content.decode()
    assert html.count('class="intercom-matrix"') == 2
    assert 'data-environment="development"' in html
    assert 'data-environment="production"' in html
    assert "25.0% (1 / 4)" in html
    assert "<svg" in html
    assert "<circle" in html  # one measured day: a dot
    assert 'class="threshold"' in html
    assert "<script" not in html.split('id="content-main"')[1].split("</div>")[0]
    assert fingerprint(SECRETS[("development", "ios")]) in html
    assert "?to=phase%3Aenforced" in html
    assert "?to=phase%3Aoff" in html
    for secret in SECRETS.values():
        assert secret not in html


def test_overview_for_viewers_has_no_buttons() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    html = staff_client("viewer", "view_platformconfig").get(OVERVIEW).content.decode()
    assert "Needs the “Can change platform configuration” permission: ask an administrator to grant it." in html
    assert "?to=phase" not in html


def test_overview_hides_production_buttons_without_the_permission() -> None:
    configure("development", "ios")
    configure("production", "ios")
    client = staff_client("dev", "view_platformconfig", "change_platformconfig")
    html = client.get(OVERVIEW).content.decode()
    sections = {part.split('"')[0]: part for part in html.split('<h2 id="env-')[1:]}
    assert "?to=phase%3Asending" in sections["development"]
    assert "?to=phase" not in sections["production"]


def test_overview_needs_view_permission() -> None:
    assert staff_client("nobody").get(OVERVIEW).status_code == 403


def test_overview_shows_the_evidence_of_each_version(admin_client: Client) -> None:
    below_threshold()  # 1.0: 3 users, none seen receiving the credential; 2.0: 1 of 1
    html = admin_client.get(OVERVIEW).content.decode()
    rows = re.findall(r'<tr class="version">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert cells == [["2.0", "1", "1 / 1", "yes (evidence)"], ["1.0", "3", "0 / 3", "no"]]
    assert "A version counts as sending once 95.0% of its users, and at least 1, were seen receiving" in html


def test_overview_offers_no_move_that_needs_a_missing_secret(admin_client: Client) -> None:
    """Production rows without a secret used to offer "sending →" to a page whose only button was disabled."""
    configure("production", "ios")
    html = admin_client.get(OVERVIEW).content.decode()
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


def test_overview_offers_the_move_back_without_a_secret(admin_client: Client) -> None:
    """Back to off needs no secret: a row that lost it (settings removed) can still go back."""
    config = config_of("development", "web")
    PlatformConfig.objects.filter(pk=config.pk).update(phase=RolloutPhase.SENDING)
    row = overview_row(admin_client.get(OVERVIEW).content.decode(), "development", "web")
    assert "?to=phase%3Aoff" in row
    assert "?to=phase%3Aenforced" not in row
    assert "No secret yet" in row


def test_overview_headings_read_alike(admin_client: Client) -> None:
    html = admin_client.get(OVERVIEW).content.decode()
    development = html.split('<h2 id="env-development">', 1)[1].split("</h2>", 1)[0]
    production = html.split('<h2 id="env-production">', 1)[1].split("</h2>", 1)[0]
    assert development.split("<span")[0].strip() == "Development / test"
    assert production.split("<span")[0].strip() == "Production"
    assert ">served here · default</span>" in development
    assert "records only" in production  # the test settings serve development only
    assert "intercom-badge intercom-badge-live" in production
    assert "— production" not in html
    assert "(this server)" not in html


def test_phase_buttons_use_labels_and_one_arrow_style(admin_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    row = overview_row(admin_client.get(OVERVIEW).content.decode(), "development", "ios")
    assert re.search(r'title="Move to Off">← Off</a>', row)
    assert re.search(r'title="Move to Enforced">Enforced →</a>', row)
    assert "&larr;" not in row
    assert "&rarr;" not in row


INDEX_ENTRY = re.compile(
    r'<a href="/admin/intercom_identity/identityverificationoverview/"[^>]*>Identity verification</a>'
)


@pytest.mark.parametrize("page", ["/admin/", "/admin/intercom_identity/"])
def test_the_overview_is_on_the_admin_index_under_the_app(admin_client: Client, page: str) -> None:
    assert INDEX_ENTRY.search(admin_client.get(page).content.decode())
    overview = admin_client.get("/admin/intercom_identity/identityverificationoverview/")
    assert overview.status_code == 200
    assert "<title>Identity verification" in overview.content.decode()
    assert (
        'id="overview"' in overview.content.decode()
        or overview.templates[0].name == "intercom_identity/admin/overview.html"
    )


def test_the_index_entry_follows_the_platform_configurations_view_permission() -> None:
    reader = staff_client("reader", "view_platformconfig")
    assert INDEX_ENTRY.search(reader.get("/admin/").content.decode())
    assert reader.get("/admin/intercom_identity/identityverificationoverview/").status_code == 200
    outsider = staff_client("outsider", "view_auditevent")
    assert not INDEX_ENTRY.search(outsider.get("/admin/").content.decode())
    assert outsider.get("/admin/intercom_identity/identityverificationoverview/").status_code == 403
    # It is a page, not a model: nothing to add, change or delete.
    assert admin_client_cannot_add()


def admin_client_cannot_add() -> bool:
    from django.contrib import admin

    from intercom_identity.models import IdentityVerificationOverview

    model_admin = admin.site.get_model_admin(IdentityVerificationOverview)
    return "add" not in str(model_admin.get_urls())


def test_overview_shows_the_webs_evidence_and_soak(admin_client: Client, settings: Any) -> None:
    """Web in its own terms: the pages the tags rendered, each user on their own evidence, and the soak."""
    from tests.helpers import make_ready

    settings.INTERCOM_IDENTITY_WEB_SOAK = 86400
    configure("development", "web", RolloutPhase.SENDING)
    make_ready("development", "web", users=2)  # two users' pages, handed the credential
    html = admin_client.get(OVERVIEW).content.decode()
    row = overview_row(html, "development", "web")
    assert "web must hand out the credential for 24 h first" in row
    assert "intercom-ready" not in row  # 100%, but still soaking
    versions = html.split('data-versions-of="web"', 1)[1].split("</details>", 1)[0]
    cells = [
        re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        for r in re.findall(r'<tr class="version">(.*?)</tr>', versions, re.S)
    ]
    assert cells == [["pages (tags)", "2", "2 / 2", "2 ready (each user on their own evidence)"]]
    assert "Web: a user counts as ready once their latest web client" in html


def test_the_web_has_no_minimum_field_until_single_page_app_builds_report(admin_client: Client) -> None:
    from intercom_identity import serve_identity
    from tests.helpers import users

    web = configure("development", "web", RolloutPhase.SENDING)
    assert "min_sending_version" not in admin_client.get(change_url(web)).context["adminform"].form.fields
    (person,) = users(1, "spa")
    serve_identity(person, "web", "2024.11.3")  # a single-page-app build fetched its credential
    assert "min_sending_version" in admin_client.get(change_url(web)).context["adminform"].form.fields
    ios = config_of("development", "ios")
    assert "min_sending_version" in admin_client.get(change_url(ios)).context["adminform"].form.fields

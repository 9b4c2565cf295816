"""The overview page (admin/overview_page.py): the matrix, readiness, trend and buttons."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import (
    RolloutPhase,
)
from tests.conftest import SECRETS, below_threshold, configure, staff_client

pytestmark = pytest.mark.django_db


OVERVIEW = "/admin/intercom_identity/platformconfig/overview/"


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
    assert "A version counts as sending once 50.0% of its users, and at least 1, were seen receiving" in html

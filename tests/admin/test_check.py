"""The admin's "Check a credential" page (admin/pages/check.py): its form, its links and its command."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from intercom_identity.models import RolloutPhase
from tests.helpers import (
    change_url,
    config_of,
    configure,
)

pytestmark = pytest.mark.django_db


def test_check_without_a_secret_links_to_where_it_is_set(admin_client: Client) -> None:
    url = reverse("admin:intercom_identity_platformconfig_check")
    html = admin_client.post(
        url, {"environment": "development", "platform": "ios", "user_id": "1", "user_hash": "ab" * 32}
    )
    page = html.content.decode()
    assert "No Intercom secret is stored for Development / test / iOS." in page
    assert f'href="{change_url(config_of("development", "ios"))}#id_new_secret"' in page


def test_check_page_renders_the_command_as_code(admin_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    url = reverse("admin:intercom_identity_platformconfig_check")
    html = admin_client.post(
        url, {"environment": "development", "platform": "ios", "user_id": "1", "user_hash": "ab" * 32}
    )
    result = html.content.decode().split('id="check-result"', 1)[1].split("</div>", 1)[0]
    assert 'data-reason="mismatch"' in result
    assert "<code>manage.py intercom_identity hash</code>" in result
    assert "`" not in result
    assert "How to fix it: Nothing to verify" not in html.content.decode()


def test_check_page_says_nothing_to_check_without_an_identifier(admin_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    url = reverse("admin:intercom_identity_platformconfig_check")
    page = admin_client.post(url, {"environment": "development", "platform": "ios"}).content.decode()
    result = page.split('id="check-result"', 1)[1].split("</div>", 1)[0]
    assert "<h3>Nothing to check</h3>" in result
    assert "Enter the <code>user_id</code> or the <code>email</code> the app sends" in result
    assert "Fix:" not in result


def test_check_page_hash_field_takes_64_characters(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:intercom_identity_platformconfig_check")).content.decode()
    assert re.search(r'<input type="text" name="user_hash" class="vTextField intercom-hash"', page)
    assert 'class="module aligned' in page  # laid out as the admin lays out its forms

"""credentials/payload.py: the payload, what it hands out, and the one serving entry point."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity import compute_user_hash
from intercom_identity.credentials.payload import identity_payload, issue, serve_identity
from intercom_identity.models import AppVersion, ClientActivity, CredentialMode, RolloutPhase
from intercom_identity.rollout.changes import change_mode
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db


def test_issue_says_what_was_handed_out(user: Any) -> None:
    assert issue(user, "ios").handed_out is False  # phase off
    configure("development", "ios", RolloutPhase.SENDING)
    issued = issue(user, "ios")
    assert issued.handed_out is True
    assert issued.payload["user_hash"] == compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
    assert (issued.config.environment, issued.config.platform) == ("development", "ios")
    assert identity_payload(user, "ios") == issued.payload


def test_a_jwt_counts_as_handed_out_and_a_credential_error_does_not(user: Any) -> None:
    config = configure("development", "ios", RolloutPhase.SENDING)
    change_mode(config, CredentialMode.JWT)
    assert issue(user, "ios").handed_out is True
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: None):
        issued = issue(user, "ios")
    assert issued.payload["credential_error"] is not None
    assert issued.handed_out is False


def test_serve_identity_records_what_it_handed_out(user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    payload = serve_identity(user, "ios", "2.0")
    assert payload["user_hash"] is not None
    assert ClientActivity.objects.get(user=user).version == "2.0"
    assert AppVersion.objects.get(version="2.0").first_credential_at is not None
    serve_identity(user, "android", "1.0")  # phase off: counted, not sending
    assert AppVersion.objects.get(platform="android", version="1.0").first_credential_at is None


@override_settings(INTERCOM_IDENTITY_CACHE_TTL=0)  # no process copy: every lookup is a query
def test_the_json_view_loads_the_configuration_once(user_client: Client, all_secrets: Any) -> None:
    user_client.get("/intercom/user-hash/", {"platform": "ios"})  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-App-Version": "2.0"})
    assert response.status_code == 200
    lookups = [q["sql"] for q in queries.captured_queries if 'FROM "intercom_identity_platformconfig"' in q["sql"]]
    assert len(lookups) == 1, lookups  # recording reuses the configuration the payload was made under

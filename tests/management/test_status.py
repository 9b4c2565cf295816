"""management/status.py: the status matrix and the audit trail as plain data (what the command's
``status --json`` and ``history --json`` print)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.management.status import audit_history, serving, status_matrix
from intercom_identity.models import AuditEvent
from tests import leakguard
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db

VAULT = "vault-status-ios-00112233445566778899aabbccddeeff"
leakguard.remember_secret(VAULT)  # supplied by settings: the leak guard must watch for it too


def test_a_stored_secret_is_named_by_its_fingerprint_source_and_time_never_its_value() -> None:
    config = configure("production", "web")
    matrix = status_matrix()
    row = matrix["production"]["web"]
    assert row["fingerprint"] == fingerprint(SECRETS[("production", "web")])
    assert row["secret_source"] == "database"
    assert config.secret_set_at is not None
    assert row["secret_set_at"] == config.secret_set_at.isoformat()
    assert SECRETS[("production", "web")] not in json.dumps(matrix)


def test_a_secret_from_settings_wins_and_has_no_time_of_its_own() -> None:
    configure("production", "ios")  # a stored secret, then overridden by settings
    with override_settings(INTERCOM_IDENTITY_SECRETS={"production": {"ios": VAULT}}):
        row = status_matrix()["production"]["ios"]
    assert (row["fingerprint"], row["secret_source"], row["secret_set_at"]) == (fingerprint(VAULT), "settings", None)


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="development", INTERCOM_IDENTITY_SERVED_ENVIRONMENTS=["production"])
def test_serving_tells_the_default_a_served_and_a_records_only_environment_apart() -> None:
    assert [serving(slug) for slug in ("development", "production", "staging")] == [
        "default",
        "served",
        "records_only",
    ]
    assert {slug: row["ios"]["served"] for slug, row in status_matrix().items()} == {
        "development": "default",
        "production": "served",
    }


def test_the_audit_trail_is_newest_first_and_filtered_by_environment_and_platform() -> None:
    now = timezone.now()
    for minutes, environment, platform, kind in [
        (3, "development", "ios", "phase"),
        (2, "production", "ios", "secret"),
        (1, "development", "android", "mode"),
    ]:
        AuditEvent.objects.create(
            created_at=now - timedelta(minutes=minutes),
            actor_label="root",
            environment=environment,
            platform=platform,
            kind=kind,
        )
    assert [event["kind"] for event in audit_history()] == ["mode", "secret", "phase"]
    assert [event["kind"] for event in audit_history(environment="development")] == ["mode", "phase"]
    assert [event["kind"] for event in audit_history(platform="ios")] == ["secret", "phase"]
    (only,) = audit_history(environment="production", platform="ios")
    assert only["at"] == (now - timedelta(minutes=2)).isoformat()
    assert audit_history(environment="staging") == []

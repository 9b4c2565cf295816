from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.exceptions import MissingSecret, PhaseRequiresSecret, UnknownEnvironment, UnknownPlatform
from intercom_identity.models import Environment, Platform, PlatformConfig, RolloutPhase
from intercom_identity.rollout.changes import change_phase, store_secret
from intercom_identity.selectors import get_platform_config
from tests.helpers import SECRETS

pytestmark = pytest.mark.django_db


def test_migration_creates_both_workspaces_with_three_platforms() -> None:
    environments = {e.slug: e for e in Environment.objects.all()}
    assert set(environments) == {"development", "production"}
    assert environments["development"].label == "Development / test"
    assert environments["production"].is_production
    assert not environments["development"].is_production
    for environment in environments.values():
        assert sorted(environment.platforms.values_list("platform", "phase")) == [
            ("android", "off"),
            ("ios", "off"),
            ("web", "off"),
        ]


def test_store_secret_encrypts_and_fingerprints() -> None:
    config = get_platform_config("ios", "development")
    assert store_secret(config, SECRETS[("development", "ios")]) == fingerprint(SECRETS[("development", "ios")])
    config = PlatformConfig.objects.get(pk=config.pk)
    assert config.secret() == SECRETS[("development", "ios")]
    assert config.secret_set_at is not None
    assert SECRETS[("development", "ios")] not in config.encrypted_secret


def test_plaintext_is_in_no_database_row(all_secrets: Any) -> None:
    """Read every column of every table back raw: no secret in clear, anywhere."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                found += [(table, platform) for (env, platform), secret in SECRETS.items() if secret in text]
    assert found == []
    assert PlatformConfig.objects.exclude(encrypted_secret="").count() == 6


def test_repr_and_str_hold_no_secret(all_secrets: Any) -> None:
    config = all_secrets[("production", "web")]
    for text in (repr(config), str(config), repr(config.environment)):
        assert SECRETS[("production", "web")] not in text
        assert config.encrypted_secret not in text


def test_change_phase_refuses_without_secret() -> None:
    config = get_platform_config("web", "production")
    with pytest.raises(PhaseRequiresSecret):
        change_phase(config, RolloutPhase.SENDING)
    config.refresh_from_db()
    assert config.phase == RolloutPhase.OFF


def test_change_phase_returns_previous_and_stamps_time(all_secrets: Any) -> None:
    config = get_platform_config("web", "development")
    assert change_phase(config, "enforced", force=True, reason="test") == RolloutPhase.SENDING
    assert config.phase == RolloutPhase.ENFORCED
    assert config.phase_changed_at is not None
    with pytest.raises(ValueError, match="Unknown phase"):
        change_phase(config, "maximum")


def test_missing_secret_error() -> None:
    with pytest.raises(MissingSecret, match="No Intercom secret"):
        get_platform_config("ios", "production").secret()


def test_lookup_errors() -> None:
    with pytest.raises(UnknownPlatform):
        get_platform_config("windows", "development")
    with pytest.raises(UnknownEnvironment):
        get_platform_config("ios", "staging")


def test_platform_choices() -> None:
    assert Platform.values == ["ios", "android", "web"]
    assert RolloutPhase.values == ["off", "sending", "enforced"]

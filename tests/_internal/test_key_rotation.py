"""_internal/key_rotation.py: re-encrypting with the first key, all or nothing (``rotate-keys``)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from intercom_identity import compute_user_hash
from intercom_identity.models import PlatformConfig
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db


# ``intercom_identity rotate-keys``: re-encrypt with the first key, all or nothing.
OLD = Fernet.generate_key().decode()


NEW = Fernet.generate_key().decode()


STRAY = Fernet.generate_key().decode()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("intercom_identity", *args, stdout=out)
    return out.getvalue()


def tokens() -> dict[int, tuple[str, str]]:
    return {c.pk: (c.encrypted_secret, c.encrypted_previous_secret) for c in PlatformConfig.objects.all()}


def test_rotation_lets_the_old_key_go_and_keeps_every_hash() -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
        configure("development", "ios", secret=SECRETS[("production", "ios")])  # becomes the previous secret
        configure("development", "ios")
        configure("production", "web")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]):
        assert "Rotated 2 platform configuration(s)" in run("rotate-keys")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW]):
        ios = PlatformConfig.objects.get(environment__slug="development", platform="ios")
        assert ios.secret() == SECRETS[("development", "ios")]
        assert ios.previous_secret() == SECRETS[("production", "ios")]
        assert run("hash", "production", "web", "--user-id", "42").strip() == compute_user_hash(
            SECRETS[("production", "web")], user_id="42"
        )


def test_an_unreadable_row_stops_everything() -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
        configure("development", "ios")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[STRAY]):
        configure("development", "android")  # encrypted with a key that will not be configured
    before = tokens()
    with (
        override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]),
        pytest.raises(CommandError, match=r"Nothing was rotated.*Development / test / Android"),
    ):
        run("rotate-keys")
    assert tokens() == before


def test_nothing_stored_rotates_nothing() -> None:
    assert "Rotated 0" in run("rotate-keys")


def test_an_unreadable_previous_secret_does_not_block_rotation() -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[STRAY]):
        configure("development", "ios", secret=SECRETS[("production", "ios")])
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD, STRAY]):
        configure("development", "ios")  # the STRAY-encrypted one becomes the previous secret
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]):
        assert "Rotated 1" in run("rotate-keys")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW]):
        assert (
            PlatformConfig.objects.get(environment__slug="development", platform="ios").secret()
            == (SECRETS[("development", "ios")])
        )


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=["not-a-key"])
def test_an_invalid_key_is_reported_as_such() -> None:
    with pytest.raises(CommandError, match="key #1 is not a valid Fernet key"):
        run("rotate-keys")


# --- verification: every stored value under the first key (after rotate-keys, and check W011) ---


def check_output() -> str:
    """``manage.py check --database default``: what an operator runs before removing a key."""
    err = io.StringIO()
    call_command("check", "--database", "default", stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_rotate_keys_says_it_verified_every_value() -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
        configure("development", "ios")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]):
        assert "W011" in check_output()
        out = run("rotate-keys")
        assert "Verified: every stored secret and API token in use decrypts with the first key" in out
        assert "W011" not in check_output()


def test_a_secret_stored_under_the_old_key_after_a_rotation_is_reported_before_the_key_goes() -> None:
    """A worker still running with the old key list stores a secret after the rotation: `check`
    names how many values and the command, where nothing was said before."""
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
        configure("development", "ios")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]):
        run("rotate-keys")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):  # the worker with the old key list
        configure("production", "web")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]):
        output = check_output()
    assert "intercom_identity.W011" in output
    assert "1 stored encrypted value(s) are not encrypted with the first key" in output
    assert "(Production / Web: secret)" in output
    assert "manage.py intercom_identity rotate-keys" in output
    # The old key removed anyway: the secret is unreadable, as W011 foretold.
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW]), pytest.raises(CommandError):
        run("hash", "production", "web", "--user-id", "42")


def test_rotate_keys_fails_its_verification_when_a_value_was_stored_under_an_old_key_meanwhile(
    monkeypatch: Any,
) -> None:
    from intercom_identity._internal import key_rotation

    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
        configure("development", "ios")
    real = key_rotation.key_coverage

    def stored_meanwhile() -> key_rotation.KeyCoverage:
        with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
            configure("production", "web")
        return real()

    monkeypatch.setattr(key_rotation, "key_coverage", stored_meanwhile)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]), pytest.raises(CommandError) as failed:
        run("rotate-keys")
    message = str(failed.value)
    assert "Verification failed: 1 stored value(s) are not encrypted with the first key" in message
    assert "Run rotate-keys again" in message

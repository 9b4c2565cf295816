"""_internal/write_only.py: a credential stored encrypted on its row, unless settings supply it; and
the one rule that writes and clears it (``Columns``), the same for a platform's secret and an
environment's API token."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import models
from django.test import override_settings
from django.utils import timezone

from intercom_identity._internal import crypto
from intercom_identity._internal.write_only import Columns, WriteOnly
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.exceptions import SecretDecryptionError
from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.validators import validate_secret
from tests import leakguard

STORED = "stored-credential-0123456789abcdef0123"
SUPPLIED = "supplied-credential-fedcba9876543210fe"
leakguard.remember_secret(SUPPLIED)  # supplied by settings: the leak guard must watch for it too


def stored() -> WriteOnly:
    return WriteOnly(None, crypto.encrypt(STORED), fingerprint(STORED))


def test_a_stored_credential_is_decrypted_when_asked_for() -> None:
    credential = stored()
    assert (credential.present, credential.managed_by_settings) == (True, False)
    assert credential.fingerprint == fingerprint(STORED)
    assert credential.value() == STORED


def test_settings_win_over_the_stored_credential() -> None:
    credential = dataclasses.replace(stored(), supplied=SUPPLIED)
    assert (credential.present, credential.managed_by_settings) == (True, True)
    assert credential.fingerprint == fingerprint(SUPPLIED)  # not the stored one's
    assert credential.value() == SUPPLIED


def test_settings_alone_are_enough() -> None:
    credential = WriteOnly(SUPPLIED, "", "")
    assert (credential.present, credential.fingerprint, credential.value()) == (True, fingerprint(SUPPLIED), SUPPLIED)


def test_no_credential_is_none_with_no_fingerprint() -> None:
    credential = WriteOnly(None, "", "")
    assert (credential.present, credential.managed_by_settings) == (False, False)
    assert (credential.fingerprint, credential.value()) == ("", None)


def test_a_credential_under_other_keys_says_it_cannot_be_decrypted() -> None:
    credential = stored()
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        assert credential.fingerprint == fingerprint(STORED)  # known without the key
        with pytest.raises(SecretDecryptionError):
            credential.value()


def test_repr_shows_the_fingerprint_only() -> None:
    credential = dataclasses.replace(stored(), supplied=SUPPLIED)
    text = repr(credential)
    assert text == f"WriteOnly(stored_fingerprint='{fingerprint(STORED)}')"
    assert credential.encrypted not in text


# --- writing and clearing: one rule (Columns) ---------------------------------------------------

SECRET = "write-only-secret-0011223344556677889900aabbcc"
COLUMNS = Columns("encrypted_x", "x_fingerprint", "x_set_at")


def test_written_is_encrypted_fingerprinted_and_stamped() -> None:
    written = COLUMNS.written(SECRET, validate_secret)
    assert set(written) == set(COLUMNS.names)
    assert SECRET not in written["encrypted_x"]
    assert crypto.decrypt(written["encrypted_x"]) == SECRET
    assert written["x_fingerprint"] == fingerprint(SECRET)
    assert timezone.now() - written["x_set_at"] < timedelta(seconds=5)


def test_a_value_the_validator_refuses_is_never_encrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted: list[str] = []
    monkeypatch.setattr(crypto, "encrypt", lambda value: encrypted.append(value) or "x")
    with pytest.raises(ValueError, match="whitespace"):
        COLUMNS.written(" pasted with a space", validate_secret)
    assert encrypted == []


def test_cleared_empties_the_three_columns() -> None:
    assert COLUMNS.cleared() == {"encrypted_x": "", "x_fingerprint": "", "x_set_at": None}


@pytest.mark.parametrize(
    ("model", "columns"),
    [(PlatformConfig, PlatformConfig.SECRET_COLUMNS), (Environment, Environment.API_TOKEN_COLUMNS)],
)
def test_each_credential_names_real_fields(model: type[models.Model], columns: Columns) -> None:
    fields = {field.name: field for field in model._meta.get_fields()}
    encrypted, digest, set_at = (fields[name] for name in columns.names)
    assert isinstance(encrypted, models.TextField)
    assert isinstance(digest, models.CharField)
    assert isinstance(set_at, models.DateTimeField)


@pytest.mark.django_db
def test_a_row_reads_back_what_its_columns_wrote() -> None:
    config = PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")
    for name, value in PlatformConfig.SECRET_COLUMNS.written(SECRET, validate_secret).items():
        setattr(config, name, value)
    assert config.secret() == SECRET
    assert config.fingerprint == fingerprint(SECRET)

"""_internal/write_only.py: a credential stored encrypted on its row, unless settings supply it."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from intercom_identity._internal import crypto
from intercom_identity._internal.write_only import WriteOnly
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.exceptions import SecretDecryptionError
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

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from intercom_identity._internal import crypto
from intercom_identity.exceptions import EncryptionKeyMissing, SecretDecryptionError

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
PLAINTEXT = "crypto-secret-0011223344556677889900aabbcc"


def test_round_trip_and_ciphertext_hides_the_plaintext() -> None:
    token = crypto.encrypt(PLAINTEXT)
    assert PLAINTEXT not in token
    assert crypto.decrypt(token) == PLAINTEXT
    assert crypto.encrypt(PLAINTEXT) != token  # fresh IV every time


def test_first_key_encrypts_all_keys_decrypt() -> None:
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[OLD]):
        old_token = crypto.encrypt(PLAINTEXT)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW, OLD]):
        assert crypto.decrypt(old_token) == PLAINTEXT
        new_token = crypto.encrypt(PLAINTEXT)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[NEW]):
        assert crypto.decrypt(new_token) == PLAINTEXT
        with pytest.raises(SecretDecryptionError):
            crypto.decrypt(old_token)


@pytest.mark.parametrize("token", ["", "garbage", "gAAAAA" + "x" * 80, "ünïcode"])
def test_undecryptable_values_raise_never_return(token: str) -> None:
    with pytest.raises(SecretDecryptionError, match="cannot be decrypted"):
        crypto.decrypt(token)


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[], DEBUG=False)
def test_no_keys_without_debug_refuses_to_encrypt() -> None:
    with pytest.raises(EncryptionKeyMissing):
        crypto.encrypt(PLAINTEXT)


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[], DEBUG=True)
def test_debug_derives_a_stable_key_from_secret_key() -> None:
    token = crypto.encrypt(PLAINTEXT)
    assert crypto.decrypt(token) == PLAINTEXT
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only"), pytest.raises(SecretDecryptionError):
        crypto.decrypt(token)


@override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=["short"])
def test_invalid_key_names_its_position_not_its_value() -> None:
    with pytest.raises(ImproperlyConfigured, match="key #1") as excinfo:
        crypto.encrypt(PLAINTEXT)
    assert "short" not in str(excinfo.value)

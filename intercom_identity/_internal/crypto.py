"""Encryption at rest of the stored secrets, with MultiFernet.

The first key of ``INTERCOM_IDENTITY_ENCRYPTION_KEYS`` encrypts; every key decrypts, so a
new key can be put first and the old one kept until every row has been re-encrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.conf import PREFIX, conf
from intercom_identity.exceptions import EncryptionKeyInvalid, EncryptionKeyMissing, SecretDecryptionError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet

# cryptography is imported when a key is first used, not with this module: it is about 7 MiB a
# process, which a process that never encrypts or decrypts a stored secret (a worker serving
# secrets from the environment, most management commands) need not hold (docs/performance.md).

_DERIVATION_SALT = "intercom_identity.crypto.development-key"

# How to make a key: every message that asks for one says it the same way.
GENERATE_KEY_COMMAND = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def derive_development_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, so DEBUG sites work without configuring keys.

    Only for development: rotating SECRET_KEY makes every stored secret unreadable.
    """
    digest = salted_hmac(_DERIVATION_SALT, "fernet", secret=secret_key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


@sensitive_variables()
def effective_keys() -> tuple[str, ...]:
    """The configured keys, or the derived development key when none are set and DEBUG is on."""
    keys = conf.ENCRYPTION_KEYS
    if keys:
        return keys
    if conf.DEBUG:
        return (derive_development_key(conf.SECRET_KEY),)
    raise EncryptionKeyMissing(
        f"{PREFIX}ENCRYPTION_KEYS is empty and DEBUG is off: configure at least one Fernet key "
        f"({GENERATE_KEY_COMMAND})."
    )


@lru_cache(maxsize=8)
@sensitive_variables()
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Name the position, never the key.
            raise EncryptionKeyInvalid(
                f"{PREFIX}ENCRYPTION_KEYS: key #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    """The MultiFernet for the current settings (cached per key set)."""
    return _multi_fernet(effective_keys())


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    """Encrypt a secret with the first key; returns the Fernet token as text."""
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


@contextmanager
def _undecryptable_is_an_error() -> Iterator[None]:
    """Turn "no configured key decrypts this token" into ``SecretDecryptionError``."""
    from cryptography.fernet import InvalidToken

    try:
        yield
    except (InvalidToken, UnicodeError):
        raise SecretDecryptionError(
            gettext(
                "A stored Intercom secret cannot be decrypted with the keys in %(setting)s. "
                "Restore the key it was encrypted with (keys can be listed together), or store the secret again."
            )
            % {"setting": f"{PREFIX}ENCRYPTION_KEYS"}
        ) from None


@sensitive_variables()
def decrypt(token: str) -> str:
    """Decrypt a stored token, or raise ``SecretDecryptionError``; never returns anything else."""
    with _undecryptable_is_an_error():
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")


@lru_cache(maxsize=8)
@sensitive_variables()
def _first_fernet(keys: tuple[str, ...]) -> Fernet:
    return _multi_fernet(keys)._fernets[0]  # validated there: an invalid key is reported as such


def key_of(token: str) -> str:
    """Which key a stored token is encrypted with: ``"first"``, ``"older"`` (another configured
    key: unreadable once that key is removed) or ``"none"`` (no configured key).

    Only the tokens' signatures are checked (``extract_timestamp``): nothing is decrypted.
    """
    from cryptography.fernet import InvalidToken

    keys = effective_keys()
    encoded = token.encode("ascii", errors="replace")
    for fernet_, answer in ((_first_fernet(keys), "first"), (_multi_fernet(keys), "older")):
        try:
            fernet_.extract_timestamp(encoded)
        except InvalidToken:
            continue
        return answer
    return "none"


@sensitive_variables()
def rotate(token: str) -> str:
    """Re-encrypt a stored token with the first key (MultiFernet.rotate), or raise ``SecretDecryptionError``."""
    with _undecryptable_is_an_error():
        return fernet().rotate(token.encode("ascii")).decode("ascii")

"""Re-encrypting every stored secret and API token with the first configured key, all or
nothing (``intercom_identity rotate-keys``), and verifying that every stored value is under
that key (what the command says after rotating, and system check W011 says at any time)."""

from __future__ import annotations

import logging
from typing import NamedTuple

from django.db import transaction

from intercom_identity._internal import crypto
from intercom_identity._internal.configcache import config_changed
from intercom_identity.exceptions import RotationFailed, SecretUnavailable
from intercom_identity.models import Environment, PlatformConfig

logger = logging.getLogger("intercom_identity.maintenance")


ENCRYPTED_FIELDS = ("encrypted_secret", "encrypted_previous_secret")


class KeyCoverage(NamedTuple):
    """The stored encrypted values not under the first key, each named (``development/ios: secret``).

    ``older_key``: under another configured key, so unreadable once it is removed (a worker
    still running with the old key list may have stored one after a rotation): rotate again.
    ``unreadable``: under no configured key (left as they were by a rotation, as not in use).
    """

    older_key: tuple[str, ...]
    unreadable: tuple[str, ...]


class Rotation(NamedTuple):
    """How many rows ``rotate_encryption`` re-encrypted, and what the verification after it found."""

    configs: int
    api_tokens: int
    verified: KeyCoverage = KeyCoverage((), ())


def key_coverage() -> KeyCoverage:
    """Every stored secret, previous secret and API token checked against the first key, as
    committed now (a value another process stored since a rotation included)."""
    older: list[str] = []
    unreadable: list[str] = []
    values: list[tuple[str, str]] = [
        (f"{config}: {field.removeprefix('encrypted_').replace('_', ' ')}", token)
        for config in PlatformConfig.objects.select_related("environment").order_by("pk")
        for field in ENCRYPTED_FIELDS
        if (token := getattr(config, field))
    ]
    values += [
        (f"{environment}: API token", environment.encrypted_api_token)
        for environment in Environment.objects.exclude(encrypted_api_token="").order_by("pk")
    ]
    for label, token in values:
        key = crypto.key_of(token)
        if key == "older":
            older.append(label)
        elif key == "none":
            unreadable.append(label)
    return KeyCoverage(older_key=tuple(older), unreadable=tuple(unreadable))


def rotate_encryption() -> Rotation:
    """Re-encrypt every stored secret (and kept previous secret) and every stored API token
    with the first configured key.

    All or nothing: every value is re-encrypted first, and if a secret in use cannot be
    decrypted with the configured keys, ``RotationFailed`` names the rows and nothing is
    written. A kept previous secret (diagnosis only) or the unused stored secret of a pair
    managed by settings that cannot be decrypted is left as it is and logged, rather than
    blocking the rotation for good. Returns the number of rows rotated; the secrets, and so
    every hash, stay the same. An invalid key is reported as such (``EncryptionKeyInvalid``).
    An unreadable API token not managed by settings blocks the rotation like a secret does.
    Once committed, every stored value is checked against the first key (``Rotation.verified``).
    """
    crypto.fernet()  # an invalid or missing key is its own error, not "these rows cannot be decrypted"
    with transaction.atomic():
        environments = list(Environment.objects.select_for_update().exclude(encrypted_api_token="").order_by("pk"))
        configs = list(PlatformConfig.objects.select_for_update().select_related("environment").order_by("pk"))
        rotated: list[tuple[PlatformConfig, dict[str, str]]] = []
        unreadable: list[str] = []
        for config in configs:
            values = {}
            for field in ENCRYPTED_FIELDS:
                token = getattr(config, field)
                if not token:
                    continue
                try:
                    values[field] = crypto.rotate(token)
                except SecretUnavailable:
                    if field == "encrypted_secret" and not config.managed_by_settings:
                        unreadable.append(str(config))
                    else:
                        logger.warning("Left an unreadable %s of %s as it is (not in use).", field, config)
            if values:
                rotated.append((config, values))
        tokens: list[tuple[Environment, str]] = []
        for environment in environments:
            try:
                tokens.append((environment, crypto.rotate(environment.encrypted_api_token)))
            except SecretUnavailable:
                if environment.api_token_managed_by_settings:
                    logger.warning("Left the unreadable stored API token of %s as it is (not in use).", environment)
                else:
                    unreadable.append(f"the API token of {environment}")
        if unreadable:
            raise RotationFailed(
                "Nothing was rotated: these secrets cannot be decrypted with the configured keys: "
                + ", ".join(unreadable)
                + ". Add the key they were encrypted with to INTERCOM_IDENTITY_ENCRYPTION_KEYS and run it again."
            )
        for config, values in rotated:
            PlatformConfig.objects.filter(pk=config.pk).update(**values)
        for environment, token in tokens:
            Environment.objects.filter(pk=environment.pk).update(encrypted_api_token=token)
        config_changed()
    logger.info(
        "Re-encrypted the secrets of %d platform configurations and %d API tokens with the first key.",
        len(rotated),
        len(tokens),
    )
    # Read again once committed: a process still running with the old key list may have stored
    # a value under an old key meanwhile, which removing that key would strand.
    verified = key_coverage()
    if verified.older_key:
        logger.warning(
            "After the rotation, %d stored value(s) are still under an older key (stored meanwhile by a process "
            "with the old key list?): run rotate-keys again before removing any key.",
            len(verified.older_key),
        )
    return Rotation(configs=len(rotated), api_tokens=len(tokens), verified=verified)

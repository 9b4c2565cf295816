"""Errors the app raises. Each message is written for the person who must fix it and
never contains secret material."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class IntercomIdentityError(Exception):
    """Base class of every error this app raises on purpose."""


class UnknownPlatform(IntercomIdentityError, ValueError):
    """A platform name that is not ``ios``, ``android`` or ``web``."""


class UnknownEnvironment(IntercomIdentityError, LookupError):
    """No environment row has this slug."""


class PhaseRequiresSecret(IntercomIdentityError, ValueError):
    """A phase other than ``off`` was asked for while no secret is stored."""


class SecretUnavailable(IntercomIdentityError):
    """A secret is needed but cannot be used (missing, or not decryptable)."""


class MissingSecret(SecretUnavailable):
    """No secret is stored for this environment and platform."""


class SecretDecryptionError(SecretUnavailable):
    """The stored secret cannot be decrypted with the configured encryption keys."""


class EncryptionKeyMissing(SecretUnavailable, ImproperlyConfigured):
    """INTERCOM_IDENTITY_ENCRYPTION_KEYS is empty and no development key may be derived."""


class EncryptionKeyInvalid(SecretUnavailable, ImproperlyConfigured):
    """INTERCOM_IDENTITY_ENCRYPTION_KEYS holds a value that is not a Fernet key."""


class InvalidCredentialInput(IntercomIdentityError, ValueError):
    """A value to verify cannot be text Intercom would receive (e.g. not encodable as UTF-8)."""


class InvalidAuditText(IntercomIdentityError, ValueError):
    """An audit reason holds characters that would disguise it where it is read (a terminal, a page)."""

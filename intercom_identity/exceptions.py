"""Errors the app raises. Each message is written for the person who must fix it and
never contains secret material."""

from __future__ import annotations

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext


class _Described(Protocol):
    def describe(self) -> str: ...


class IntercomIdentityError(Exception):
    """Base class of every error this app raises on purpose."""


class IdentityCallableRaised(ImproperlyConfigured):
    """A pluggable ``INTERCOM_IDENTITY_USER_ID`` / ``USER_EMAIL`` / ``AUTHENTICATE`` raised.

    Already logged where it was caught (the traceback once per process, then a count): whoever
    answers it (a 503, a messenger that does not boot) logs nothing more.
    """


class UnknownPlatform(IntercomIdentityError, ValueError):
    """A platform name that is not ``ios``, ``android`` or ``web``."""


class UnknownEnvironment(IntercomIdentityError, LookupError):
    """No environment row has this slug."""


class UnservedEnvironment(UnknownEnvironment):
    """A request asked for an environment this deployment does not serve
    (``INTERCOM_IDENTITY_SERVED_ENVIRONMENTS``): the client's mistake, answered with a 400."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(f"This server does not serve the Intercom environment {slug!r}.")


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


class EnforcementBlocked(IntercomIdentityError):
    """Adoption is below the threshold: enforcing now would lock out too many users."""

    def __init__(self, config: object, adoption: _Described) -> None:
        self.adoption = adoption
        super().__init__(
            gettext(
                "Refusing to enforce %(config)s: %(numbers)s. Wait for more users to update, or force it "
                "with a written reason."
            )
            % {"config": config, "numbers": adoption.describe()}
        )


class MinimumContradictsEvidence(IntercomIdentityError, ValueError):
    """A declared minimum sending version would count as sending versions whose users were seen,
    while the platform was handing the credential out, without it."""

    def __init__(self, config: object, minimum: str, versions: list[str]) -> None:
        self.versions = versions
        super().__init__(
            gettext(
                "Refusing to set the minimum sending version of %(config)s to %(minimum)s: users of "
                "%(versions)s were seen without the credential while it was being handed out, so these "
                "versions do not send it. Choose a higher minimum, or force it with a written reason."
            )
            % {"config": config, "minimum": minimum, "versions": ", ".join(versions)}
        )


class ProductionPermissionRequired(IntercomIdentityError, PermissionError):
    """Turning an environment's production flag on or off needs the manage-production permission."""


class ReasonRequired(IntercomIdentityError, ValueError):
    """A forced change was asked for without saying why."""


class SecretManagedBySettings(IntercomIdentityError):
    """The pair's secret comes from INTERCOM_IDENTITY_SECRETS, so it cannot be stored here."""


class ApiTokenManagedBySettings(IntercomIdentityError):
    """The environment's token comes from INTERCOM_IDENTITY_API_TOKENS, so it cannot be stored here."""


class RotationFailed(IntercomIdentityError):
    """Some stored values cannot be decrypted with the configured keys, so none were rotated."""


class InvalidAppId(IntercomIdentityError, ValueError):
    """Not something Intercom could have shown as an app ID (whitespace, a URL, too long)."""


class SecretLooksWrong(IntercomIdentityError, ValueError):
    """A well-formed secret that is an obvious mistake: too short, an app ID, or another pair's secret.

    ``mistake`` says which: ``"too_short"``, ``"app_id"`` or ``"other_pair"``.
    """

    def __init__(self, message: str, *, mistake: str) -> None:
        super().__init__(message)
        self.mistake = mistake


class SecretProvisioningRefused(IntercomIdentityError, ValueError):
    """A create-, rotate- or retire-secret step is not allowed in the row's state (the message says what to do)."""


class RetireTooEarly(SecretProvisioningRefused):
    """The old secret is still inside its grace period (INTERCOM_IDENTITY_SECRET_RETIRE_AFTER_HOURS)."""

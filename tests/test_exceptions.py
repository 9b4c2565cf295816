"""exceptions.py: what callers catch the app's errors as, and what the errors that build their own
message say."""

from __future__ import annotations

import inspect

import pytest
from django.core.exceptions import ImproperlyConfigured

from intercom_identity import exceptions
from intercom_identity.exceptions import (
    EncryptionKeyInvalid,
    EncryptionKeyMissing,
    EnforcementBlocked,
    IdentityCallableRaised,
    IntercomIdentityError,
    MinimumContradictsEvidence,
    MissingSecret,
    RetireTooEarly,
    SecretLooksWrong,
    SecretProvisioningRefused,
    SecretUnavailable,
    UnknownEnvironment,
    UnservedEnvironment,
)


def test_every_error_is_the_apps_or_a_configuration_error() -> None:
    """``except IntercomIdentityError`` catches everything the app raises on purpose, but a failing
    identity callable, which Django reports as the misconfiguration it is."""
    errors = [
        value
        for value in vars(exceptions).values()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == exceptions.__name__
    ]
    assert len(errors) > 20
    assert [error for error in errors if not issubclass(error, IntercomIdentityError)] == [IdentityCallableRaised]
    assert issubclass(IdentityCallableRaised, ImproperlyConfigured)


@pytest.mark.parametrize(
    "name",
    [
        "UnknownPlatform",
        "PhaseRequiresSecret",
        "InvalidCredentialInput",
        "InvalidAuditText",
        "MinimumContradictsEvidence",
        "ReasonRequired",
        "InvalidAppId",
        "SecretLooksWrong",
        "SecretProvisioningRefused",
    ],
)
def test_refused_input_is_a_value_error(name: str) -> None:
    """Forms and the command turn a ``ValueError`` into the message they show."""
    assert issubclass(getattr(exceptions, name), ValueError)


def test_each_reason_a_secret_is_unavailable_is_caught_as_one() -> None:
    for error in (MissingSecret, exceptions.SecretDecryptionError, EncryptionKeyMissing, EncryptionKeyInvalid):
        assert issubclass(error, SecretUnavailable)
    assert issubclass(EncryptionKeyMissing, ImproperlyConfigured)  # and refuses to start in a check
    assert issubclass(RetireTooEarly, SecretProvisioningRefused)


def test_an_unserved_environment_is_an_unknown_one_naming_its_slug() -> None:
    error = UnservedEnvironment("staging")
    assert isinstance(error, UnknownEnvironment)
    assert isinstance(error, LookupError)
    assert error.slug == "staging"
    assert str(error) == "This server does not serve the Intercom environment 'staging'."


class Numbers:
    def describe(self) -> str:
        return "80% of 10 active users send the credential; 95% is required"


def test_enforcement_blocked_names_the_row_and_the_numbers() -> None:
    numbers = Numbers()
    error = EnforcementBlocked("production / iOS", numbers)
    assert error.adoption is numbers
    assert str(error) == (
        "Refusing to enforce production / iOS: 80% of 10 active users send the credential; 95% is required. "
        "Wait for more users to update, or force it with a written reason."
    )


def test_a_contradicted_minimum_lists_the_versions_seen_without_the_credential() -> None:
    error = MinimumContradictsEvidence("production / iOS", "5.0.0", ["5.1.0", "5.2.0"])
    assert error.versions == ["5.1.0", "5.2.0"]
    assert "minimum sending version of production / iOS to 5.0.0: users of 5.1.0, 5.2.0 were seen" in str(error)


def test_a_secret_that_looks_wrong_says_which_mistake() -> None:
    error = SecretLooksWrong("The secret is an Intercom app ID.", mistake="app_id")
    assert (str(error), error.mistake) == ("The secret is an Intercom app ID.", "app_id")

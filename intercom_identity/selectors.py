"""Finding things by name: parsing platform, mode and phase names, and loading the
environment and platform configuration rows they designate."""

from __future__ import annotations

from typing import TypeVar

from intercom_identity.conf import conf
from intercom_identity.exceptions import UnknownEnvironment, UnknownPlatform
from intercom_identity.models import CredentialMode, Environment, Platform, PlatformConfig, RolloutPhase

ChoiceT = TypeVar("ChoiceT", Platform, CredentialMode, RolloutPhase)


def _parse_choice(choices: type[ChoiceT], value: str, what: str, error: type[ValueError] = ValueError) -> ChoiceT:
    """``choices(value)``, or ``error`` with a message listing the accepted values (the input is truncated)."""
    if isinstance(value, choices):
        return value  # already parsed: skip the enum lookup (hot path of the tag)
    try:
        return choices(value)
    except ValueError:
        raise error(f"Unknown {what} {str(value)[:40]!r}; expected one of: {', '.join(choices.values)}.") from None


def parse_platform(value: str) -> Platform:
    """``Platform`` for ``"ios"``, ``"android"`` or ``"web"``; ``UnknownPlatform`` otherwise."""
    return _parse_choice(Platform, value, "platform", UnknownPlatform)


def parse_mode(value: str) -> CredentialMode:
    """``CredentialMode`` for ``"user_hash"`` or ``"jwt"``; ``ValueError`` otherwise."""
    return _parse_choice(CredentialMode, value, "credential mode")


def parse_phase(value: str) -> RolloutPhase:
    """``RolloutPhase`` for ``"off"``, ``"sending"`` or ``"enforced"``; ``ValueError`` otherwise."""
    return _parse_choice(RolloutPhase, value, "phase")


def environment_slug(environment: Environment | str | None = None) -> str:
    """The slug of an environment given as a row, a slug or None (the current ``INTERCOM_IDENTITY_ENVIRONMENT``)."""
    if isinstance(environment, Environment):
        return environment.slug
    return conf.ENVIRONMENT if environment is None else environment


def get_environment(environment: Environment | str | None = None) -> Environment:
    """The environment row for a slug (default: the current ``INTERCOM_IDENTITY_ENVIRONMENT``)."""
    if isinstance(environment, Environment):
        return environment
    slug = environment_slug(environment)
    try:
        return Environment.objects.get(slug=slug)
    except Environment.DoesNotExist:
        raise UnknownEnvironment(
            f"No Intercom environment {slug!r} exists; create it in the admin or fix INTERCOM_IDENTITY_ENVIRONMENT."
        ) from None


def get_platform_config(
    platform: Platform | str, environment: Environment | str | None = None, *, using: str | None = None
) -> PlatformConfig:
    """The configuration of one platform in one environment (one query when given a slug),
    read from the database ``using`` (default: the router's choice for reading).

    Raises ``UnknownPlatform`` or ``UnknownEnvironment``.
    """
    platform = parse_platform(platform)
    if isinstance(environment, Environment):
        env = environment
    else:
        slug = environment_slug(environment)
        configs = PlatformConfig.objects.db_manager(using).select_related("environment")
        try:
            return configs.get(environment__slug=slug, platform=platform)
        except PlatformConfig.DoesNotExist:
            env = get_environment(slug)
    # The row is only missing when an environment was inserted without save() (SQL, bulk_create):
    # create it, in phase off, so every caller can rely on a saved row.
    config, _created = PlatformConfig.objects.get_or_create(environment=env, platform=platform)
    return config


def locked_config(config: PlatformConfig) -> PlatformConfig:
    """``config`` as it is now in the database, locked until the transaction ends (call inside one)."""
    return PlatformConfig.objects.select_for_update().select_related("environment").get(pk=config.pk)

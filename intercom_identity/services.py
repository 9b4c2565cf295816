"""The app's behaviour, free of HTTP: load a configuration, build the identity payload,
change a secret or a phase under the rules. Views, the template tag, the admin and the
command are thin adapters over these functions."""

from __future__ import annotations

from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .conf import conf
from .exceptions import PhaseRequiresSecret, UnknownEnvironment, UnknownPlatform
from .hashing import compute_user_hash, select_identifier
from .identity import user_identity
from .models import Environment, Platform, PlatformConfig, RolloutPhase


class IdentityPayload(TypedDict):
    platform: str
    environment: str
    phase: str
    user_id: str | None
    email: str | None
    user_hash: str | None
    identified_by: str | None


def parse_platform(value: str) -> Platform:
    """``Platform`` for ``"ios"``, ``"android"`` or ``"web"``; ``UnknownPlatform`` otherwise."""
    try:
        return Platform(value)
    except ValueError:
        raise UnknownPlatform(
            f"Unknown platform {str(value)[:40]!r}; expected one of: {', '.join(Platform.values)}."
        ) from None


def parse_phase(value: str) -> RolloutPhase:
    """``RolloutPhase`` for ``"off"``, ``"sending"`` or ``"enforced"``; ``ValueError`` otherwise."""
    try:
        return RolloutPhase(value)
    except ValueError:
        raise ValueError(
            f"Unknown phase {str(value)[:40]!r}; expected one of: {', '.join(RolloutPhase.values)}."
        ) from None


def get_environment(environment: Environment | str | None = None) -> Environment:
    """The environment row for a slug (default: the current ``INTERCOM_IDENTITY_ENVIRONMENT``)."""
    if isinstance(environment, Environment):
        return environment
    slug = conf.ENVIRONMENT if environment is None else environment
    try:
        return Environment.objects.get(slug=slug)
    except Environment.DoesNotExist:
        raise UnknownEnvironment(
            f"No Intercom environment {slug!r} exists; create it in the admin or fix INTERCOM_IDENTITY_ENVIRONMENT."
        ) from None


def get_platform_config(platform: Platform | str, environment: Environment | str | None = None) -> PlatformConfig:
    """The configuration of one platform in one environment (one query when given a slug).

    Raises ``UnknownPlatform`` or ``UnknownEnvironment``.
    """
    platform = parse_platform(platform)
    if isinstance(environment, Environment):
        env = environment
    else:
        slug = conf.ENVIRONMENT if environment is None else environment
        try:
            return PlatformConfig.objects.select_related("environment").get(environment__slug=slug, platform=platform)
        except PlatformConfig.DoesNotExist:
            env = get_environment(slug)
    # The row is only missing when an environment was inserted without save() (SQL, bulk_create):
    # create it, in phase off, so every caller can rely on a saved row.
    config, _created = PlatformConfig.objects.get_or_create(environment=env, platform=platform)
    return config


def payload_for_config(config: PlatformConfig, user: Any) -> IdentityPayload:
    """The identity payload of ``user`` under one loaded configuration."""
    user_id, email = user_identity(user)
    selected = select_identifier(user_id=user_id, email=email)
    user_hash = None
    if selected is not None and RolloutPhase(config.phase).needs_secret:
        user_hash = _hash_for(config, user_id, email)
    return {
        "platform": config.platform,
        "environment": config.environment.slug,
        "phase": config.phase,
        "user_id": user_id,
        "email": email,
        "user_hash": user_hash,
        "identified_by": None if selected is None else selected[0].value,
    }


@sensitive_variables("secret")
def _hash_for(config: PlatformConfig, user_id: str | None, email: str | None) -> str | None:
    secret = config.secret()
    return compute_user_hash(secret, user_id=user_id, email=email)


def identity_payload(
    user: Any, platform: Platform | str, *, environment: Environment | str | None = None
) -> IdentityPayload:
    """What a login view merges into its response so the app can identify the user to Intercom.

    ``user_hash`` is None while the phase is ``off`` and for a user with neither id nor
    email; ``identified_by`` says which identifier the app must register the user with
    (``"user_id"``, ``"email"`` or None for a visitor). Raises ``UnknownPlatform``,
    ``UnknownEnvironment`` or ``SecretUnavailable``; never returns a wrong hash.
    """
    return payload_for_config(get_platform_config(platform, environment), user)


def web_settings(user: Any, *, environment: Environment | str | None = None) -> dict[str, Any]:
    """``window.intercomSettings`` for the web messenger: app_id, and identity for a user."""
    config = get_platform_config(Platform.WEB, environment)
    result: dict[str, Any] = {"app_id": config.environment.app_id}
    payload = payload_for_config(config, user)
    identity = {"user_id": payload["user_id"], "email": payload["email"], "user_hash": payload["user_hash"]}
    result.update((key, value) for key, value in identity.items() if value is not None)
    return result


@sensitive_variables("secret")
def store_secret(config: PlatformConfig, secret: str) -> str:
    """Validate, encrypt and save a new secret for ``config``; returns its fingerprint."""
    config.set_secret(secret)
    config.save(update_fields=["encrypted_secret", "secret_fingerprint", "secret_set_at", "updated_at"])
    return config.secret_fingerprint


def change_phase(config: PlatformConfig, phase: RolloutPhase | str) -> RolloutPhase:
    """Move ``config`` to ``phase`` under the rules; returns the phase it had before.

    A phase other than ``off`` needs a stored secret (``PhaseRequiresSecret``). The row is
    locked while it changes, so two admins acting at once cannot lose an update.
    """
    target = parse_phase(phase)
    with transaction.atomic():
        locked = PlatformConfig.objects.select_for_update().get(pk=config.pk)
        previous = RolloutPhase(locked.phase)
        if target.needs_secret and not locked.has_secret:
            raise PhaseRequiresSecret(f"{config} has no stored secret: store one before moving it to '{target.value}'.")
        if previous != target:
            locked.phase = target
            locked.phase_changed_at = timezone.now()
            locked.save(update_fields=["phase", "phase_changed_at", "updated_at"])
    config.refresh_from_db()
    return previous


MANAGE_PRODUCTION_PERMISSION = "intercom_identity.manage_production"


def can_manage(user: Any, environment: Environment) -> bool:
    """Whether ``user`` may change a secret or phase of ``environment`` (beyond model permissions).

    Production environments need the dedicated ``manage_production`` permission, which
    superusers have implicitly.
    """
    return not environment.is_production or user.has_perm(MANAGE_PRODUCTION_PERMISSION)


def status_matrix() -> dict[str, dict[str, dict[str, str | None]]]:
    """``{environment: {platform: {"phase", "fingerprint", "secret_set_at"}}}``, no secret material."""
    return {
        environment.slug: {
            config.platform: {
                "phase": config.phase,
                "fingerprint": config.secret_fingerprint or None,
                "secret_set_at": config.secret_set_at.isoformat() if config.secret_set_at else None,
            }
            for config in environment.platforms.all()
        }
        for environment in Environment.objects.prefetch_related("platforms").order_by("slug")
    }

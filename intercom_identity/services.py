"""The app's behaviour, free of HTTP: load a configuration, build the identity payload,
change a secret, phase or credential mode under the rules, verify what an app sent.
Views, the template tag, the admin and the command are thin adapters over these functions."""

from __future__ import annotations

import logging
from typing import Any, TypedDict, TypeVar

from django.db import router
from django.views.decorators.debug import sensitive_variables

from .conf import conf
from .configcache import ServingConfig, serving_config
from .exceptions import InvalidCredentialInput, SecretUnavailable, UnknownEnvironment, UnknownPlatform
from .hashing import compute_user_hash, select_identifier
from .identity import signed_claims, user_identity
from .jwt_tokens import make_user_jwt
from .models import CredentialMode, Environment, Platform, PlatformConfig, RolloutPhase
from .text import is_utf8_text
from .verification import OtherSecret, Verification, VerificationContext, check_identified, verify_credential

logger = logging.getLogger(__name__)

ChoiceT = TypeVar("ChoiceT", Platform, CredentialMode, RolloutPhase)


class CredentialError(TypedDict):
    reason: str
    detail: str


class IdentityPayload(TypedDict):
    platform: str
    environment: str
    phase: str
    user_id: str | None
    email: str | None
    user_hash: str | None
    identified_by: str | None
    credential: str
    intercom_user_jwt: str | None
    jwt_expires_at: int | None
    credential_error: CredentialError | None


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


def get_serving_config(platform: Platform | str, environment: Environment | str | None = None) -> ServingConfig:
    """The configuration credentials are served from: this process's copy while it is current
    (no query), else loaded like ``get_platform_config`` (see ``configcache``)."""
    platform = parse_platform(platform)
    slug = environment_slug(environment)
    # From the database changes are written to: a lagging replica could otherwise hand an old
    # row to a process that has already read the new version, and it would keep it.
    using = router.db_for_write(PlatformConfig)
    return serving_config(slug, platform, lambda: get_platform_config(platform, slug, using=using))


@sensitive_variables()
def payload_for_config(config: ServingConfig, user: Any) -> IdentityPayload:
    """The identity payload of ``user`` under one loaded configuration."""
    user_id, email = user_identity(user)
    selected = select_identifier(user_id=user_id, email=email)
    payload: IdentityPayload = {
        "platform": config.platform,
        "environment": config.environment,
        "phase": config.phase,
        "user_id": user_id,
        "email": email,
        "user_hash": None,
        "identified_by": None if selected is None else selected[0].value,
        "credential": config.credential_mode,
        "intercom_user_jwt": None,
        "jwt_expires_at": None,
        "credential_error": None,
    }
    if selected is None or not RolloutPhase(config.phase).needs_secret:
        return payload
    secret = config.secret()
    if config.credential_mode == CredentialMode.USER_HASH:
        payload["user_hash"] = compute_user_hash(secret, user_id=user_id, email=email)
    elif user_id is None:
        payload["credential_error"] = {
            "reason": "jwt_requires_user_id",
            "detail": "This platform hands out JWTs, which need a user_id; this user has only an email.",
        }
    else:
        payload["intercom_user_jwt"], payload["jwt_expires_at"] = make_user_jwt(
            secret, user_id=user_id, claims=signed_claims(user, email), expires_in=conf.JWT_EXPIRY
        )
    return payload


def identity_payload(
    user: Any, platform: Platform | str, *, environment: Environment | str | None = None
) -> IdentityPayload:
    """What a login view merges into its response so the app can identify the user to Intercom.

    ``user_hash`` is None while the phase is ``off`` and for a user with neither id nor
    email; ``identified_by`` says which identifier the app must register the user with
    (``"user_id"``, ``"email"`` or None for a visitor). In ``jwt`` credential mode the
    credential is ``intercom_user_jwt`` (expiring at ``jwt_expires_at``) instead of the
    hash, and ``credential_error`` says why a user without user_id gets none. Raises
    ``UnknownPlatform``, ``UnknownEnvironment`` or ``SecretUnavailable``; never returns a
    wrong credential.
    """
    return payload_for_config(get_serving_config(platform, environment), user)


def web_settings(user: Any, *, environment: Environment | str | None = None) -> dict[str, Any]:
    """``window.intercomSettings`` for the web messenger: app_id, and identity for a user."""
    config = get_serving_config(Platform.WEB, environment)
    result: dict[str, Any] = {"app_id": config.app_id}
    payload = payload_for_config(config, user)
    identity: dict[str, Any] = {"user_id": payload["user_id"], "email": payload["email"]}
    if payload["intercom_user_jwt"] is not None:
        # user_id and the signed fields travel inside the token, not in the clear.
        identity = {key: value for key, value in identity.items() if key not in jwt_signed_keys()}
        identity["intercom_user_jwt"] = payload["intercom_user_jwt"]
    else:
        identity["user_hash"] = payload["user_hash"]
    result.update((key, value) for key, value in identity.items() if value is not None)
    return result


def jwt_signed_keys() -> frozenset[str]:
    """Settings that a JWT carries signed, and that therefore stay out of the clear settings."""
    return frozenset({"user_id", *conf.JWT_SIGNED_FIELDS})


MANAGE_PRODUCTION_PERMISSION = "intercom_identity.manage_production"


def can_manage(user: Any, environment: Environment) -> bool:
    """Whether ``user`` may change a secret or phase of ``environment`` (beyond model permissions).

    Production environments need the dedicated ``manage_production`` permission, which
    superusers have implicitly.
    """
    return not environment.is_production or user.has_perm(MANAGE_PRODUCTION_PERMISSION)


def status_matrix() -> dict[str, dict[str, dict[str, str | None]]]:
    """``{environment: {platform: {"phase", "credential", "fingerprint", "secret_set_at"}}}``, no secret material."""
    return {
        environment.slug: {
            config.platform: {
                "phase": config.phase,
                "credential": config.credential_mode,
                "fingerprint": config.fingerprint or None,
                "secret_set_at": (
                    config.secret_set_at.isoformat()
                    if config.secret_set_at and not config.managed_by_settings
                    else None
                ),
                "secret_source": "settings"
                if config.managed_by_settings
                else ("database" if config.has_secret else None),
            }
            for config in environment.platforms.all()
        }
        for environment in Environment.objects.prefetch_related("platforms").order_by("slug")
    }


@sensitive_variables()
def verification_context(platform: Platform | str, environment: Environment | str | None = None) -> VerificationContext:
    """What ``verify_credential`` compares against: this pair's secret, the one it replaced,
    every other stored secret (to recognise mix-ups) and the app ids.

    Raises ``SecretUnavailable`` when this pair's own secret is missing or unreadable; other
    rows that cannot be decrypted are left out (and logged), since they only refine a diagnosis.
    """
    config = get_platform_config(platform, environment)
    others = []
    for other in PlatformConfig.objects.select_related("environment").exclude(pk=config.pk):
        if not other.has_secret:
            continue
        try:
            others.append(OtherSecret(other.environment.slug, other.platform, other.secret()))
        except SecretUnavailable as exc:
            logger.warning("Left %s out of the diagnosis: %s", other, exc)
    return VerificationContext(
        environment=config.environment.slug,
        platform=config.platform,
        secret=config.secret(),
        previous_secret=_previous_secret(config),
        others=tuple(others),
        app_ids=tuple(Environment.objects.exclude(app_id="").values_list("app_id", flat=True)),
    )


def _previous_secret(config: PlatformConfig) -> str | None:
    """The replaced secret, or None when there is none or it cannot be read (it only refines diagnoses)."""
    try:
        return config.previous_secret()
    except SecretUnavailable as exc:
        logger.warning("Left the previous secret of %s out of the diagnosis: %s", config, exc)
        return None


@sensitive_variables()
def verify(
    platform: Platform | str,
    environment: Environment | str | None = None,
    *,
    user_id: str | None = None,
    email: str | None = None,
    user_hash: str | None = None,
    token: str | None = None,
) -> tuple[Verification, PlatformConfig]:
    """Verify a credential against a stored configuration; returns the result and the configuration.

    Raises ``InvalidCredentialInput`` for a value that is not UTF-8 text (a lone surrogate).
    """
    for name, value in (("user_id", user_id), ("email", email), ("user_hash", user_hash), ("token", token)):
        if value is not None and not is_utf8_text(value):
            raise InvalidCredentialInput(f"{name} is not valid UTF-8 text.")
    config = get_platform_config(platform, environment)
    unidentified = check_identified(user_id=user_id, email=email, token=token)
    if unidentified is not None:
        return unidentified, config
    context = verification_context(config.platform, config.environment)
    result = verify_credential(context, user_id=user_id, email=email, user_hash=user_hash, token=token)
    return result, config

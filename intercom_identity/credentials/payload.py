"""Which credential a user gets: the identity payload under one serving configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal.configcache import ServingConfig, aget_serving_config, get_serving_config
from intercom_identity.conf import conf
from intercom_identity.credentials.hashing import compute_user_hash, select_identifier
from intercom_identity.credentials.jwt_tokens import make_user_jwt
from intercom_identity.credentials.users import signed_claims, user_identity
from intercom_identity.models import CredentialMode, Environment, Platform, RolloutPhase
from intercom_identity.resolvers import resolve_environment
from intercom_identity.rollout.activity import arecord, record


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


@dataclass(frozen=True)
class Issued:
    """An identity payload and the configuration it was made under."""

    config: ServingConfig
    payload: IdentityPayload

    @property
    def handed_out(self) -> bool:
        return handed_out(self.payload)


def handed_out(payload: IdentityPayload) -> bool:
    """Whether a credential (hash or JWT) was handed out: the only evidence that a client sends it."""
    return payload["user_hash"] is not None or payload["intercom_user_jwt"] is not None


def served_environment(environment: Environment | str | None, request: HttpRequest | None) -> Environment | str | None:
    """The environment to serve: an explicit ``environment`` wins; else the one ``request`` is
    served from (``resolve_environment``: raises ``UnservedEnvironment``); else None (the default)."""
    if environment is not None or request is None:
        return environment
    return resolve_environment(request)


def issue(
    user: Any,
    platform: Platform | str,
    *,
    environment: Environment | str | None = None,
    request: HttpRequest | None = None,
) -> Issued:
    """The identity payload of ``user``, with the configuration it was made under, in
    ``environment`` (``served_environment``: an explicit one, else the request's, else the default).

    Raises ``UnknownPlatform``, ``UnknownEnvironment`` (``UnservedEnvironment`` when the request
    asks for one this deployment does not serve) or ``SecretUnavailable``; never returns a wrong
    credential.
    """
    config = get_serving_config(platform, served_environment(environment, request))
    return Issued(config, payload_for_config(config, user))


def identity_payload(
    user: Any,
    platform: Platform | str,
    *,
    environment: Environment | str | None = None,
    request: HttpRequest | None = None,
) -> IdentityPayload:
    """What a login view merges into its response (the JSON contract in the README); raises as ``issue``."""
    return issue(user, platform, environment=environment, request=request).payload


def serve_identity(
    user: Any,
    platform: Platform | str,
    app_version: str | None,
    *,
    environment: Environment | str | None = None,
    request: HttpRequest | None = None,
) -> IdentityPayload:
    """The identity payload, with ``user`` counted as active on ``app_version``: what the JSON
    view and a login view that hands out credentials call. Raises as ``issue``; recording
    itself never fails the request."""
    issued = issue(user, platform, environment=environment, request=request)
    record(issued.config, user, app_version, sent_credential=issued.handed_out)
    return issued.payload


async def aissue(
    user: Any,
    platform: Platform | str,
    *,
    environment: Environment | str | None = None,
    request: HttpRequest | None = None,
) -> Issued:
    """``issue`` for async code: no thread hop while this process's configuration copy is current."""
    config = await aget_serving_config(platform, served_environment(environment, request))
    return Issued(config, payload_for_config(config, user))


async def aidentity_payload(
    user: Any,
    platform: Platform | str,
    *,
    environment: Environment | str | None = None,
    request: HttpRequest | None = None,
) -> IdentityPayload:
    """``identity_payload`` for async views (``user`` already loaded: ``await request.auser()``)."""
    return (await aissue(user, platform, environment=environment, request=request)).payload


async def aserve_identity(
    user: Any,
    platform: Platform | str,
    app_version: str | None,
    *,
    environment: Environment | str | None = None,
    request: HttpRequest | None = None,
) -> IdentityPayload:
    """``serve_identity`` for async views: the same payload and recording. On the warm path (a
    current configuration copy, a recording already remembered) it never leaves the event loop;
    a database read or write runs in a worker thread (``sync_to_async``)."""
    issued = await aissue(user, platform, environment=environment, request=request)
    await arecord(issued.config, user, app_version, sent_credential=issued.handed_out)
    return issued.payload

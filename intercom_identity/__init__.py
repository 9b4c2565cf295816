"""Server side of Intercom identity verification for Django.

The public API is what ``__all__`` lists, plus the dotted paths that settings name
(``intercom_identity.urls``, ``intercom_identity.middleware.MessengerSessionMiddleware``, ...);
every other module is private and may move. Names that need the app registry are imported on
first use, so importing this package from settings stays safe.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from intercom_identity.credentials.hashing import compute_user_hash
from intercom_identity.exceptions import (
    IntercomIdentityError,
    SecretUnavailable,
    UnknownEnvironment,
    UnknownPlatform,
    UnservedEnvironment,
)

if TYPE_CHECKING:
    from intercom_identity.contrib import login_payload
    from intercom_identity.credentials.payload import (
        IdentityPayload,
        aidentity_payload,
        aserve_identity,
        identity_payload,
        serve_identity,
    )
    from intercom_identity.environ import api_tokens_from_environment, secrets_from_environment
    from intercom_identity.http import error_response, json_errors, method_not_allowed, rate_limited, unavailable
    from intercom_identity.messenger.tag import aprepare_messenger
    from intercom_identity.resolvers import resolve_environment
    from intercom_identity.rollout.activity import forget_user, record_client

__all__ = [
    "IdentityPayload",
    "IntercomIdentityError",
    "SecretUnavailable",
    "UnknownEnvironment",
    "UnknownPlatform",
    "UnservedEnvironment",
    "aidentity_payload",
    "api_tokens_from_environment",
    "aprepare_messenger",
    "aserve_identity",
    "compute_user_hash",
    "error_response",
    "forget_user",
    "identity_payload",
    "json_errors",
    "login_payload",
    "method_not_allowed",
    "rate_limited",
    "record_client",
    "resolve_environment",
    "secrets_from_environment",
    "serve_identity",
    "unavailable",
]

_LAZY = {
    "IdentityPayload": "intercom_identity.credentials.payload",
    "identity_payload": "intercom_identity.credentials.payload",
    "serve_identity": "intercom_identity.credentials.payload",
    "aidentity_payload": "intercom_identity.credentials.payload",
    "aserve_identity": "intercom_identity.credentials.payload",
    "aprepare_messenger": "intercom_identity.messenger.tag",
    "forget_user": "intercom_identity.rollout.activity",
    "record_client": "intercom_identity.rollout.activity",
    "secrets_from_environment": "intercom_identity.environ",  # safe from settings.py
    "api_tokens_from_environment": "intercom_identity.environ",
    "resolve_environment": "intercom_identity.resolvers",
    # A site's own JSON views answer as the app's (docs/mobile-login.md, docs/rate-limits.md).
    "error_response": "intercom_identity.http",
    "json_errors": "intercom_identity.http",
    "method_not_allowed": "intercom_identity.http",
    "rate_limited": "intercom_identity.http",
    "unavailable": "intercom_identity.http",
    # What a login view of its own adds to its answer (docs/login-stacks.md: djoser, knox).
    "login_payload": "intercom_identity.contrib",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

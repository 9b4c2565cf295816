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
    from intercom_identity.credentials.payload import (
        IdentityPayload,
        aidentity_payload,
        aserve_identity,
        identity_payload,
        serve_identity,
    )
    from intercom_identity.environ import api_tokens_from_environment, secrets_from_environment
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
    "forget_user",
    "identity_payload",
    "record_client",
    "resolve_environment",
    "secrets_from_environment",
    "serve_identity",
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
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

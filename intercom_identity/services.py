"""Deprecated: this module was split by concern. Import from the new homes instead:
``lookups`` (parse_*, environment_slug, get_environment, get_platform_config),
``configcache`` (get_serving_config), ``credentials`` (IdentityPayload, identity_payload,
payload_for_config), ``messenger`` (web_settings, jwt_signed_keys), ``permissions``
(can_manage), ``reports`` (status_matrix) and ``emulator`` (verification_context, verify)."""

from __future__ import annotations

from ._deprecation import warn_module_moved

warn_module_moved(
    "intercom_identity.services",
    "intercom_identity.lookups, .configcache, .credentials, .messenger, .permissions, .reports or .emulator",
)

from .configcache import get_serving_config  # noqa: E402
from .credentials import CredentialError, IdentityPayload, identity_payload, payload_for_config  # noqa: E402
from .emulator import verification_context, verify  # noqa: E402
from .lookups import (  # noqa: E402
    environment_slug,
    get_environment,
    get_platform_config,
    parse_mode,
    parse_phase,
    parse_platform,
)
from .messenger import jwt_signed_keys, web_settings  # noqa: E402
from .permissions import MANAGE_PRODUCTION_PERMISSION, can_manage  # noqa: E402
from .reports import status_matrix  # noqa: E402

__all__ = [
    "MANAGE_PRODUCTION_PERMISSION",
    "CredentialError",
    "IdentityPayload",
    "can_manage",
    "environment_slug",
    "get_environment",
    "get_platform_config",
    "get_serving_config",
    "identity_payload",
    "jwt_signed_keys",
    "parse_mode",
    "parse_phase",
    "parse_platform",
    "payload_for_config",
    "status_matrix",
    "verification_context",
    "verify",
    "web_settings",
]

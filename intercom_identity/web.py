"""Deprecated: the web messenger lives in ``intercom_identity.messenger``."""

from __future__ import annotations

from ._deprecation import warn_module_moved

warn_module_moved("intercom_identity.web", "intercom_identity.messenger")

from .messenger import (  # noqa: E402
    RESERVED_KEYS,
    intercom_settings_script,
    messenger_settings,
    script_safe_json,
)

__all__ = ["RESERVED_KEYS", "intercom_settings_script", "messenger_settings", "script_safe_json"]

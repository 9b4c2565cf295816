"""Server side of Intercom identity verification for Django.

Public API::

    from intercom_identity import compute_user_hash, identity_payload, record_client

``identity_payload`` and ``record_client`` need the app registry, so it is imported on first use; importing this
package from settings (or before ``django.setup()``) stays safe.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .hashing import compute_user_hash

if TYPE_CHECKING:
    from .activity import record_client
    from .credentials import identity_payload

__all__ = ["compute_user_hash", "identity_payload", "record_client"]

_LAZY = {"identity_payload": ".credentials", "record_client": ".activity"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Who may change a configuration, beyond Django's model permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intercom_identity.models import Environment

from intercom_identity.constants import MANAGE_PRODUCTION

MANAGE_PRODUCTION_PERMISSION = f"intercom_identity.{MANAGE_PRODUCTION}"


def can_manage_production(user: Any) -> bool:
    """Whether ``user`` holds ``manage_production`` (superusers hold every permission)."""
    return bool(user.has_perm(MANAGE_PRODUCTION_PERMISSION))


def can_manage(user: Any, environment: Environment) -> bool:
    """Whether ``user`` may change a secret or phase of ``environment``: a production
    environment also needs ``manage_production``."""
    return not environment.is_production or can_manage_production(user)

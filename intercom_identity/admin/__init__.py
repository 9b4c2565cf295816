"""The admin, one module per page: model admins for environments, platform configurations
and audit events; the custom pages of platform configurations (transition, overview, check);
their forms; the base every model admin shares (``base``); the transitions and their texts.
Importing the package registers the admins."""

from __future__ import annotations

from .audit import AuditEventAdmin
from .base import AppModelAdmin
from .display import secret_summary
from .environments import EnvironmentAdmin, PlatformConfigInline
from .forms import AuditReasonForm, CheckCredentialForm, PlatformConfigForm
from .platform_configs import PlatformConfigAdmin
from .transitions import MODE_CONSEQUENCES, PHASE_CONSEQUENCES, PHASE_ORDER, TRANSITIONS, Transition

__all__ = [
    "MODE_CONSEQUENCES",
    "PHASE_CONSEQUENCES",
    "PHASE_ORDER",
    "TRANSITIONS",
    "AppModelAdmin",
    "AuditEventAdmin",
    "AuditReasonForm",
    "CheckCredentialForm",
    "EnvironmentAdmin",
    "PlatformConfigAdmin",
    "PlatformConfigForm",
    "PlatformConfigInline",
    "Transition",
    "secret_summary",
]

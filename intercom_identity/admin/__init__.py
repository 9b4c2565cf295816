"""The admin, one module per page: model admins for environments, platform configurations
and audit events; the custom pages of platform configurations (transition, overview, check);
their forms; the base every model admin shares (``base``); the transitions and their texts.
Importing the package registers the admins."""

from __future__ import annotations

from intercom_identity.admin.audit import AuditEventAdmin
from intercom_identity.admin.base import AppModelAdmin
from intercom_identity.admin.display import secret_summary
from intercom_identity.admin.environments import EnvironmentAdmin, PlatformConfigInline
from intercom_identity.admin.forms import AuditReasonForm, CheckCredentialForm, PlatformConfigForm
from intercom_identity.admin.platform_configs import PlatformConfigAdmin
from intercom_identity.admin.transitions import (
    MODE_CONSEQUENCES,
    PHASE_CONSEQUENCES,
    PHASE_ORDER,
    TRANSITIONS,
    Transition,
)

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

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class IntercomIdentityConfig(AppConfig):
    name = "intercom_identity"
    verbose_name = _("Intercom identity verification")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Both connect signal handlers: activity keeps the tallies exact, configcache the copies current.
        from . import activity, configcache  # noqa: F401
        from .checks import ALL_CHECKS, check_phases_have_secrets, check_workspace_drift

        for check in ALL_CHECKS:
            checks.register(check, checks.Tags.security)
        checks.register(check_phases_have_secrets, checks.Tags.database)
        checks.register(check_workspace_drift, checks.Tags.database)

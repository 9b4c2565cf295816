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
        from intercom_identity._internal import configcache  # noqa: F401
        from intercom_identity.checks import ALL_CHECKS, DATABASE_CHECKS
        from intercom_identity.rollout import activity  # noqa: F401

        for check in ALL_CHECKS:
            checks.register(check, checks.Tags.security)
        for check in DATABASE_CHECKS:
            checks.register(check, checks.Tags.database)

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class IntercomIdentityConfig(AppConfig):
    name = "intercom_identity"
    verbose_name = "Intercom identity verification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import activity  # noqa: F401 - connects the signal handlers that keep tallies exact
        from .checks import ALL_CHECKS, check_phases_have_secrets

        for check in ALL_CHECKS:
            checks.register(check, checks.Tags.security)
        checks.register(check_phases_have_secrets, checks.Tags.database)

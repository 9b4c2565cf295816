from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class IntercomIdentityConfig(AppConfig):
    name = "intercom_identity"
    verbose_name = _("Intercom identity verification")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from intercom_identity import receivers
        from intercom_identity._internal import logsafety
        from intercom_identity.checks import ALL_CHECKS, DATABASE_CHECKS, DEPLOY_CHECKS

        receivers.connect()
        logsafety.install()

        for check in ALL_CHECKS:
            checks.register(check, checks.Tags.security)
        for check in DEPLOY_CHECKS:
            checks.register(check, checks.Tags.security, deploy=True)
        for check in DATABASE_CHECKS:
            checks.register(check, checks.Tags.database)

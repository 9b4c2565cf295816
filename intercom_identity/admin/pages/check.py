"""The "Check a credential" page: what Intercom would say of what an app sends, and why."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from intercom_identity.admin.display import with_code
from intercom_identity.admin.forms import CheckCredentialForm
from intercom_identity.admin.next_steps import Blocker, permission_blocker, secret_blocker
from intercom_identity.exceptions import InvalidCredentialInput, MissingSecret, SecretUnavailable
from intercom_identity.selectors import get_platform_config


class CheckPage(admin.ModelAdmin):  # type: ignore[type-arg]
    """The "Check a credential" page (a mixin of ``PlatformConfigAdmin``, whose permissions it uses)."""

    def check_view(self, request: HttpRequest) -> HttpResponse:
        """ "Check a credential": what Intercom would say of what an app sends, and why."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        # The emulator (and PyJWT with it) loads with the page, not with the admin: a worker that
        # never shows it never holds them (docs/performance.md, "A worker's memory").
        from intercom_identity.credentials.emulator import verify
        from intercom_identity.credentials.verification import REASONS

        form = CheckCredentialForm(request.POST or None)
        result = error = blocker = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result, _config = verify(
                    data["platform"],
                    data["environment"],
                    user_id=data["user_id"] or None,
                    email=data["email"] or None,
                    user_hash=data["user_hash"] or None,
                    token=data["intercom_user_jwt"] or None,
                )
            except (SecretUnavailable, InvalidCredentialInput) as exc:
                error = str(exc)
                if isinstance(exc, MissingSecret):
                    blocker = self._secret_step(request, data["platform"], data["environment"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Check a credential"),
            "opts": self.model._meta,
            "form": form,
            # AdminForm lays any form out as the admin does; its stubs only say ModelForm.
            "adminform": helpers.AdminForm(form, CheckCredentialForm.fieldsets, {}, model_admin=self),  # type: ignore[arg-type]
            "result": result,
            "error": error,
            "blocker": blocker,
            "fix": with_code(str(REASONS[result.diagnosis.reason])) if result and result.diagnosis else None,
        }
        return TemplateResponse(request, "intercom_identity/admin/check_credential.html", context)

    def _secret_step(self, request: HttpRequest, platform: str, environment: Any) -> Blocker | None:
        """Nothing can be checked without the pair's secret: where to set it (or who may)."""
        config = get_platform_config(platform, environment)
        return permission_blocker(self, request, config) or secret_blocker(config)

"""The "Check a credential" page: what Intercom would say of what an app sends, and why."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from ..emulator import verify
from ..exceptions import InvalidCredentialInput, SecretUnavailable
from ..verification import REASONS
from .forms import CheckCredentialForm


class CheckPage(admin.ModelAdmin):  # type: ignore[type-arg]
    """The "Check a credential" page (a mixin of ``PlatformConfigAdmin``, whose permissions it uses)."""

    def check_view(self, request: HttpRequest) -> HttpResponse:
        """ "Check a credential": what Intercom would say of what an app sends, and why."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = CheckCredentialForm(request.POST or None)
        result = error = None
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
        context = {
            **self.admin_site.each_context(request),
            "title": _("Check a credential"),
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "error": error,
            "fix": REASONS.get(result.diagnosis.reason) if result and result.diagnosis else None,
        }
        return TemplateResponse(request, "intercom_identity/admin/check_credential.html", context)

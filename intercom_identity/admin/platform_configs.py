"""Platform configurations: write-only secrets shown by fingerprint, phases and credential
modes changed only through the transition page (whose rules are ``rollout``'s)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from ..models import PlatformConfig
from ..permissions import can_manage
from ..rollout import set_min_sending_version, store_secret
from .base import AppModelAdmin
from .check_page import CheckPage
from .forms import PlatformConfigForm
from .overview_page import OverviewPage
from .transition_page import TransitionPage
from .transitions import TRANSITIONS


def secret_summary(config: PlatformConfig) -> str:
    """The fingerprint of the secret in use and where it comes from; never the secret."""
    if config.managed_by_settings:
        return f"{config.fingerprint} (managed by settings)"
    return config.fingerprint or "—"


@admin.register(PlatformConfig)
class PlatformConfigAdmin(TransitionPage, OverviewPage, CheckPage, AppModelAdmin):
    form = PlatformConfigForm
    write_only_fields = ("new_secret",)  # hidden from error reports (AppModelAdmin)
    change_form_template = "intercom_identity/admin/platformconfig_change_form.html"
    list_filter = ["environment", "platform", "phase", "credential_mode"]
    list_select_related = ["environment"]
    readonly_fields = [
        "environment",
        "platform",
        "phase",
        "credential_mode",
        "secret",
        "secret_set_at",
        "phase_changed_at",
    ]
    list_display = ["__str__", *readonly_fields]
    # Phase and mode change only through the transitions below; the form edits these two.
    fields = [*readonly_fields, "min_sending_version", "new_secret"]

    @admin.display(description=_("secret"))
    def secret(self, obj: PlatformConfig) -> str:
        return secret_summary(obj)

    def get_fields(self, request: HttpRequest, obj: PlatformConfig | None = None) -> Any:
        """No secret field for a pair whose secret is managed by settings (the form drops it too)."""
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.managed_by_settings:
            fields.remove("new_secret")
        return fields

    def get_urls(self) -> list[Any]:
        """The custom pages' URLs, before the model admin's own (which would take them for object ids)."""
        return [
            path(
                "<path:object_id>/transition/",
                self.admin_site.admin_view(self.transition_view),
                name="intercom_identity_platformconfig_transition",
            ),
            path("check/", self.admin_site.admin_view(self.check_view), name="intercom_identity_platformconfig_check"),
            path(
                "overview/",
                self.admin_site.admin_view(self.overview_view),
                name="intercom_identity_platformconfig_overview",
            ),
            *self.workspace_urls(),
            *super().get_urls(),
        ]

    # move_to_off, move_to_sending, move_to_enforced, use_user_hash, use_jwt
    actions = [transition.admin_action() for transition in TRANSITIONS.values()]
    change_list_template = "intercom_identity/admin/platformconfig_change_list.html"

    # --- permissions -------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows are created with their environment, one per platform

    def has_delete_permission(self, request: HttpRequest, obj: PlatformConfig | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PlatformConfig | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage(request.user, obj.environment))

    # --- secrets -----------------------------------------------------------------------

    @method_decorator(sensitive_variables())
    def save_model(self, request: HttpRequest, obj: PlatformConfig, form: Any, change: bool) -> None:
        """Save through ``rollout``, field by field: a full save would write back a phase changed
        meanwhile, and ``rollout`` audits each change."""
        secret = form.cleaned_data.get("new_secret")
        if secret:
            store_secret(obj, secret, actor=request.user)
        if "min_sending_version" in form.changed_data:
            set_min_sending_version(obj, form.cleaned_data["min_sending_version"], actor=request.user)

    def construct_change_message(self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False) -> Any:
        """History says that the secret changed, by fingerprint; never the secret."""
        if not isinstance(form, PlatformConfigForm):
            return []
        parts = []
        if form.cleaned_data.get("new_secret"):
            previous = form.previous_fingerprint or "none"
            parts.append(f"Secret replaced (fingerprint {previous} -> {form.instance.secret_fingerprint}).")
        if "min_sending_version" in form.changed_data:
            parts.append(f"Minimum sending version set to '{form.cleaned_data['min_sending_version'] or 'none'}'.")
        return " ".join(parts)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: PlatformConfig | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["transitions"] = [
                (key, transition.button) for key, transition in TRANSITIONS.items() if not transition.is_current(obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

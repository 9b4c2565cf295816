"""Platform configurations: write-only secrets shown by fingerprint, phases and credential
modes changed only through the transition page (whose rules are ``rollout``'s)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from intercom_identity.admin.base import AppModelAdmin
from intercom_identity.admin.display import phase_cell, secret_cell, served_note
from intercom_identity.admin.forms import PlatformConfigForm
from intercom_identity.admin.next_steps import offered_steps
from intercom_identity.admin.pages.check import CheckPage
from intercom_identity.admin.pages.overview import OverviewPage
from intercom_identity.admin.pages.secrets import IntercomSecretPage
from intercom_identity.admin.pages.transition import TransitionPage, transition_action
from intercom_identity.admin.transitions import TRANSITIONS
from intercom_identity.models import AuditEvent, IdentityVerificationOverview, PlatformConfig, change_summary
from intercom_identity.permissions import can_manage
from intercom_identity.rollout.adoption import builds_in_use
from intercom_identity.rollout.changes import set_min_sending_version, store_secret


@admin.register(PlatformConfig)
class PlatformConfigAdmin(TransitionPage, OverviewPage, CheckPage, IntercomSecretPage, AppModelAdmin):
    form = PlatformConfigForm
    write_only_fields = ("new_secret",)  # hidden from error reports (AppModelAdmin)
    change_form_template = "intercom_identity/admin/platformconfig_change_form.html"
    list_filter = ["environment", "platform", "phase", "credential_mode"]
    list_select_related = ["environment"]
    # One column for the pair, one for the secret's fingerprint and age: the list fits a laptop.
    list_display = ["pair", "phase_since", "credential_mode", "secret"]
    list_display_links = ["pair"]
    # Phase and mode are shown, with their buttons, by the change form's rollout section, and
    # change only through the transitions below; the form edits the secret and minimum version.
    readonly_fields = ["environment", "platform", "secret"]

    class Media:
        css = {"all": ["intercom_identity/admin.css"]}

    @admin.display(description=_("configuration"), ordering="environment")
    def pair(self, obj: PlatformConfig) -> str:
        return str(obj)

    @admin.display(description=_("secret"))
    def secret(self, obj: PlatformConfig) -> str:
        return secret_cell(obj)

    @admin.display(description=_("phase"), ordering="phase")
    def phase_since(self, obj: PlatformConfig) -> str:
        """The phase, and since when (in the admin's format) underneath."""
        return phase_cell(obj)

    def get_fieldsets(self, request: HttpRequest, obj: PlatformConfig | None = None) -> Any:
        """No secret field for a pair whose secret is managed by settings (the form drops it too),
        nor for a reader who may not change it."""
        secret_fields = ["secret"]
        if obj is not None and not obj.managed_by_settings and self.has_change_permission(request, obj):
            secret_fields.append("new_secret")
        fieldsets: list[Any] = [
            (None, {"fields": ["environment", "platform"]}),
            (_("Secret"), {"fields": secret_fields}),
        ]
        # Web pages have no version: a minimum means something only once single-page-app builds report one.
        if obj is None or builds_in_use(obj):
            adoption_fields = ["min_sending_version"]
            if self.has_change_permission(request, obj):
                adoption_fields += ["force_min_version", "min_version_reason"]
            fieldsets.append((_("Adoption"), {"fields": adoption_fields}))
        return fieldsets

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
            *self.intercom_secret_urls(),
            *super().get_urls(),
        ]

    # move_to_off, move_to_sending, move_to_enforced, use_user_hash, use_jwt
    actions = [transition_action(transition) for transition in TRANSITIONS.values()]
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
            set_min_sending_version(
                obj,
                form.cleaned_data["min_sending_version"],
                actor=request.user,
                reason=form.cleaned_data.get("min_version_reason", ""),
                force=bool(form.cleaned_data.get("force_min_version")),
            )

    def construct_change_message(self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False) -> Any:
        """History says that the secret changed, by fingerprint; never the secret."""
        if not isinstance(form, PlatformConfigForm):
            return []
        parts = []
        if form.cleaned_data.get("new_secret"):
            parts.append(
                change_summary(AuditEvent.Kind.SECRET, form.previous_fingerprint, form.instance.secret_fingerprint)
            )
        if "min_sending_version" in form.changed_data:
            parts.append(
                change_summary(
                    AuditEvent.Kind.MIN_VERSION, form.initial_min_version, form.cleaned_data["min_sending_version"]
                )
            )
        return " ".join(f"{part}." for part in parts)

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
            context["rollout"] = self._rollout_rows(request, obj)
            context["intercom_secret"] = self.intercom_secret_buttons(request, obj)
            context["served_note"] = served_note(obj.environment)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _rollout_rows(self, request: HttpRequest, config: PlatformConfig) -> list[dict[str, Any]]:
        """The phase and the credential mode, each with the changes this user can make from here,
        or why none can be made and what unblocks it."""
        rows: list[dict[str, Any]] = []
        for field, label, value in (
            ("phase", _("Phase"), config.get_phase_display()),
            ("credential_mode", _("Credential"), config.get_credential_mode_display()),
        ):
            others = [t for t in TRANSITIONS.values() if t.field == field and not t.is_current(config)]
            steps, blocker = offered_steps(self, request, config, others)
            rows.append({"field": field, "label": label, "value": value, "steps": steps, "blocker": blocker})
        rows[0]["changed_at"] = config.phase_changed_at
        return rows


@admin.register(IdentityVerificationOverview)
class IdentityVerificationOverviewAdmin(AppModelAdmin):
    """*Identity verification* on the admin index, under the app: its one page is the overview,
    drawn by the platform configurations' admin (whose permissions it follows)."""

    def _configs_admin(self) -> PlatformConfigAdmin:
        return self.admin_site.get_model_admin(PlatformConfig)  # type: ignore[return-value]

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, str] | None = None) -> HttpResponse:
        # The page takes no filters; one that would reach a secret is refused as on every changelist.
        for lookup in request.GET:
            if not self.lookup_allowed(lookup, request.GET.get(lookup, ""), request):
                raise DisallowedModelAdminLookup(f"Filtering by {lookup} not allowed")
        return self._configs_admin().overview_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._configs_admin().has_view_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._configs_admin().has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Environments (Intercom workspaces), with their platform rows inline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from intercom_identity.admin.base import AppModelAdmin
from intercom_identity.admin.display import environment_badges, secret_cell, served_note
from intercom_identity.admin.next_steps import production_permission_name
from intercom_identity.admin.pages.workspace import EnvironmentApiTokenMixin, api_token_summary
from intercom_identity.admin.transitions import PHASE_SHORT_LABELS
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from intercom_identity.permissions import can_manage, can_manage_production
from intercom_identity.rollout.changes import set_is_production


class PlatformConfigInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PlatformConfig
    fields = ["platform", "phase", "credential_mode", "secret"]
    readonly_fields = ["platform", "phase", "credential_mode", "secret"]

    @admin.display(description=_("secret"))
    def secret(self, obj: PlatformConfig) -> str:
        return secret_cell(obj)

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Environment)
class EnvironmentAdmin(EnvironmentApiTokenMixin, AppModelAdmin):
    # Three columns: the environment (label, slug, badges), its Intercom workspace (app ID,
    # region, API token) and its phases; the change form has every field.
    list_display = ["environment", "workspace", "phases"]
    list_display_links = ["environment"]
    readonly_fields = ["created_at", "updated_at", "api_token"]
    inlines = [PlatformConfigInline]
    change_form_template = "intercom_identity/admin/environment_change_form.html"

    class Media:
        css = {"all": ["intercom_identity/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Environment]:
        return super().get_queryset(request).prefetch_related("platforms")

    def get_readonly_fields(self, request: HttpRequest, obj: Environment | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("slug")  # the setting and history refer to it
        if not can_manage_production(request.user):
            fields.append("is_production")  # guarded state: not even on a new environment
        return fields

    def save_model(self, request: HttpRequest, obj: Environment, form: Any, change: bool) -> None:
        """The production flag goes through ``rollout`` (permission, lock, audit event); the rest as usual."""
        flag = obj.is_production
        obj.is_production = bool(form.initial.get("is_production", False)) if change else False
        super().save_model(request, obj, form, change)
        if flag != obj.is_production:
            set_is_production(obj, flag, actor=request.user)

    @admin.display(description=_("environment"), ordering="label")
    def environment(self, obj: Environment) -> str:
        note = served_note(obj)
        return format_html(
            '{} {}<br><span class="intercom-quiet">{}</span>{}',
            str(obj),
            environment_badges(obj),
            obj.slug,
            format_html('<br><span class="intercom-quiet intercom-records-only">{}</span>', note) if note else "",
        )

    @admin.display(description=_("Intercom workspace"), ordering="app_id")
    def workspace(self, obj: Environment) -> str:
        app_id = format_html("<code>{}</code>", obj.app_id) if obj.app_id else gettext("no app ID")
        return format_html(
            '{} · {}<br><span class="intercom-quiet">{}</span>',
            app_id,
            obj.get_region_display(),
            format_html(gettext("API token: {summary}"), summary=api_token_summary(obj))
            if obj.has_api_token
            else gettext("no API token"),
        )

    @admin.display(description=_("phases"))
    def phases(self, obj: Environment) -> str:
        return ", ".join(
            f"{config.get_platform_display()}: {PHASE_SHORT_LABELS[RolloutPhase(config.phase)]}"
            for config in obj.platforms.all()
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Environment | None = None,
    ) -> HttpResponse:
        """Say why a button is missing: a production environment read only for want of the
        permission, or no delete link while a platform is still rolled out."""
        # (level, text): each at the level it means. Both say why something is not possible: a warning.
        notices: list[tuple[str, str]] = []
        if obj is not None and served_note(obj):
            notices.append(("info", served_note(obj)))
        if obj is not None and not can_manage(request.user, obj):
            notices.append(
                (
                    "warning",
                    gettext(
                        "Read only: changes to a production environment need the manage-production permission "
                        "(“%(name)s”). Ask an administrator to grant it."
                    )
                    % {"name": production_permission_name()},
                )
            )
        elif (
            obj is not None
            and super().has_delete_permission(request, obj)
            and not self.has_delete_permission(request, obj)
        ):
            active = ", ".join(
                f"{config.get_platform_display()}: {config.get_phase_display()}"
                for config in obj.platforms.all()
                if config.phase != RolloutPhase.OFF
            )
            url = reverse("admin:intercom_identity_platformconfig_changelist") + f"?environment__id__exact={obj.pk}"
            notices.append(
                (
                    "warning",
                    format_html(
                        gettext(
                            "To delete this environment, first move every platform to Off (now {active}) "
                            'in <a href="{url}">its platform configurations</a>.'
                        ),
                        active=active,
                        url=url,
                    ),
                )
            )
        context["notices"] = notices
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_change_permission(self, request: HttpRequest, obj: Environment | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage(request.user, obj))

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> Any:
        """No bulk delete: it would skip the per-environment guard of ``has_delete_permission``.

        Django 6.1 passes ``action_location`` (and deprecates overrides without it); 5.2 and 6.0
        call ``get_actions(request)`` and have no such parameter to pass on.
        """
        where = {} if action_location is None else {"action_location": action_location}
        actions = super().get_actions(request, **where)
        actions.pop("delete_selected", None)
        return actions

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """Platform rows belong to their environment: deleting it needs no permission on them."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(PlatformConfig._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def has_delete_permission(self, request: HttpRequest, obj: Environment | None = None) -> bool:
        """An environment can only be deleted once every platform is back to ``off``."""
        allowed = super().has_delete_permission(request, obj)
        if obj is None:
            return allowed
        return (
            allowed
            and can_manage(request.user, obj)
            and all(config.phase == RolloutPhase.OFF for config in obj.platforms.all())
        )

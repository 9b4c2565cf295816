"""Environments (Intercom workspaces), with their platform rows inline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..conf import conf
from ..models import Environment, PlatformConfig, RolloutPhase
from ..permissions import can_manage, can_manage_production
from .base import AppModelAdmin
from .platform_configs import secret_summary
from .workspace_page import EnvironmentApiTokenMixin


class PlatformConfigInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PlatformConfig
    fields = ["platform", "phase", "secret", "secret_set_at"]
    readonly_fields = ["platform", "phase", "secret", "secret_set_at"]

    @admin.display(description=_("secret"))
    def secret(self, obj: PlatformConfig) -> str:
        return secret_summary(obj)

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Environment)
class EnvironmentAdmin(EnvironmentApiTokenMixin, AppModelAdmin):
    list_display = ["label", "slug", "app_id", "region", "is_production", "is_current", "phases", "api_token"]
    readonly_fields = ["created_at", "updated_at", "api_token"]
    inlines = [PlatformConfigInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Environment]:
        return super().get_queryset(request).prefetch_related("platforms")

    def get_readonly_fields(self, request: HttpRequest, obj: Environment | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("slug")  # the setting and history refer to it
        if obj is not None and not can_manage_production(request.user):
            fields.append("is_production")
        return fields

    @admin.display(boolean=True, description=_("current"))
    def is_current(self, obj: Environment) -> bool:
        return obj.slug == conf.ENVIRONMENT

    @admin.display(description=_("phases"))
    def phases(self, obj: Environment) -> str:
        return ", ".join(f"{config.get_platform_display()}: {config.phase}" for config in obj.platforms.all())

    def has_change_permission(self, request: HttpRequest, obj: Environment | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage(request.user, obj))

    def get_actions(self, request: HttpRequest) -> Any:
        """No bulk delete: it would skip the per-environment guard of ``has_delete_permission``."""
        actions = super().get_actions(request)
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

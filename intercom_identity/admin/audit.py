"""The audit trail: readable by staff with view permission, changeable by nobody."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import AuditEvent
from .base import AppModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(AppModelAdmin):
    """The audit trail: readable by staff with view permission, changeable by nobody."""

    list_display = [
        "created_at",
        "actor_label",
        "environment",
        "platform",
        "kind",
        "from_value",
        "to_value",
        "adoption_ratio",
        "forced",
        "reason",
    ]
    list_filter = ["environment", "platform", "kind", "forced"]
    search_fields = ["actor_label", "reason"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

"""The audit trail: readable by staff with view permission, changeable by nobody."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from intercom_identity._internal.formatting import percent
from intercom_identity.admin.base import AppModelAdmin
from intercom_identity.models import AuditEvent, Environment


class EnvironmentFilter(admin.SimpleListFilter):
    """Environments by label (an event keeps the slug, which outlives a renamed or deleted row)."""

    title = _("environment")
    parameter_name = "environment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        labels = dict(Environment.objects.values_list("slug", "label"))
        recorded = AuditEvent.objects.order_by().values_list("environment", flat=True).distinct()
        return sorted(((slug, labels.get(slug) or slug) for slug in {*labels, *recorded}), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(environment=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(AppModelAdmin):
    """The audit trail: readable by staff with view permission, changeable by nobody."""

    # Fewer, denser columns: the pair over its change ("Phase: Off → Sending"), forced under the
    # adoption it overrode; the event's own page lists every field.
    list_display = ["when", "actor_label", "what", "adoption_forced", "reason_text"]
    list_filter = [EnvironmentFilter, "platform", "kind", "forced"]
    search_fields = ["actor_label", "reason"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor_label", "configuration", "change", "adoption", "forced", "reason"]
    readonly_fields = ["configuration", "change", "adoption"]

    class Media:
        css = {"all": ["intercom_identity/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        """Each event with its environment's label, in the same query."""
        labels = Environment.objects.filter(slug=OuterRef("environment")).values("label")[:1]
        events: QuerySet[AuditEvent] = super().get_queryset(request)
        return events.annotate(environment_name=Subquery(labels))

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, obj: AuditEvent) -> str:
        """Date over time, each kept whole, in the admin's formats."""
        local = timezone.localtime(obj.created_at)
        return format_html(
            '<span class="intercom-nowrap">{}</span> <span class="intercom-nowrap">{}</span>',
            formats.date_format(local, "DATE_FORMAT"),
            formats.time_format(local, "TIME_FORMAT"),
        )

    @admin.display(description=_("change"), ordering="environment")
    def what(self, obj: AuditEvent) -> str:
        pair = self.configuration(obj)
        return format_html('<span class="intercom-quiet">{}</span><br>{}', pair, obj.change_summary())

    @admin.display(description=_("adoption"), ordering="adoption_ratio")
    def adoption_forced(self, obj: AuditEvent) -> str:
        """The adoption at the time, and whether the change overrode the guard."""
        if not obj.forced:
            return self.adoption(obj)
        return format_html(
            '{}<br><span class="intercom-badge intercom-badge-live">{}</span>', self.adoption(obj), gettext("forced")
        )

    @admin.display(description=_("configuration"), ordering="environment")
    def configuration(self, obj: AuditEvent) -> str:
        return obj.configuration_label

    @admin.display(description=_("change"), ordering="kind")
    def change(self, obj: AuditEvent) -> str:
        return obj.change_summary()

    @admin.display(description=_("adoption"), ordering="adoption_ratio")
    def adoption(self, obj: AuditEvent) -> str:
        """One decimal here; ``history --json`` keeps the exact ratio."""
        return "-" if obj.adoption_ratio is None else percent(obj.adoption_ratio)

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj: AuditEvent) -> str:
        """The reason, cut short in the list (the event's page has all of it)."""
        if not obj.reason:
            return "-"
        short = Truncator(obj.reason).chars(120)
        return format_html('<span title="{}">{}</span>', obj.reason, short) if short != obj.reason else short

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

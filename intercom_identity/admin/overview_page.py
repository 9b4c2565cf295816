"""The "Identity verification" page: the environment x platform matrix with readiness and trend."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from ..adoption import adoption
from ..charts import trend_svg
from ..conf import conf
from ..models import Environment, RolloutPhase
from .transitions import neighbour_phase
from .workspace_page import WorkspaceOverviewMixin


class OverviewPage(WorkspaceOverviewMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The overview page (a mixin of ``PlatformConfigAdmin``, whose permissions it uses)."""

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """ "Identity verification": the environment x platform matrix with readiness and trend."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        environments = []
        for environment in Environment.objects.prefetch_related("platforms"):
            rows = []
            for config in environment.platforms.all():
                numbers = adoption(config)
                phase = RolloutPhase(config.phase)
                rows.append(
                    {
                        "config": config,
                        "adoption": numbers,
                        "trend": trend_svg(
                            [point.ratio for point in numbers.daily],
                            numbers.threshold,
                            label=f"{config}: adoption over {numbers.days} days",
                        ),
                        "next": neighbour_phase(phase, +1),
                        "previous": neighbour_phase(phase, -1),
                        "can_change": self.has_change_permission(request, config),
                    }
                )
            environments.append(
                {
                    "environment": environment,
                    "rows": rows,
                    "current": environment.slug == conf.ENVIRONMENT,
                    "workspace": self.workspace_context(request, environment),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Identity verification"),
            "opts": self.model._meta,
            "environments": environments,
        }
        return TemplateResponse(request, "intercom_identity/admin/overview.html", context)

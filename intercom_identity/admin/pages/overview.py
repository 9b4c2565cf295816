"""The "Identity verification" page: the environment x platform matrix with readiness and trend."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from intercom_identity.admin.base import warn_about_configuration
from intercom_identity.admin.display import environment_badges, secret_cell, served_note
from intercom_identity.admin.next_steps import offered_steps
from intercom_identity.admin.pages.charts import trend_svg
from intercom_identity.admin.pages.workspace import WorkspaceOverviewMixin
from intercom_identity.admin.transitions import TRANSITIONS, neighbour_phase
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from intercom_identity.rollout.adoption import adoption
from intercom_identity.rollout.deadline import deadline_standing


class OverviewPage(WorkspaceOverviewMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The overview page (a mixin of ``PlatformConfigAdmin``, whose permissions it uses)."""

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """ "Identity verification": the environment x platform matrix with readiness and trend."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        warn_about_configuration(request)
        environments = [
            {
                "environment": environment,
                "rows": [self._overview_row(request, config) for config in environment.platforms.all()],
                "badges": environment_badges(environment),
                "served_note": served_note(environment),
                "workspace": self.workspace_context(request, environment),
            }
            for environment in Environment.objects.prefetch_related("platforms")
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Identity verification"),
            "opts": self.model._meta,
            "environments": environments,
            "deadline": deadline_standing(),
        }
        return TemplateResponse(request, "intercom_identity/admin/overview.html", context)

    def _overview_row(self, request: HttpRequest, config: PlatformConfig) -> dict[str, Any]:
        """One platform: its numbers, its trend, and the moves to the neighbouring phases this
        user can make (or why not, and what unblocks them)."""
        numbers = adoption(config)
        phase = RolloutPhase(config.phase)
        around = (neighbour_phase(phase, -1), neighbour_phase(phase, +1))
        neighbours = [TRANSITIONS[f"phase:{p.value}"] for p in around if p is not None]
        steps, blocker = offered_steps(self, request, config, neighbours)
        return {
            "config": config,
            "adoption": numbers,
            "trend": trend_svg(
                [point.ratio for point in numbers.daily],
                numbers.threshold,
                label=gettext("%(config)s: adoption over %(days)s days") % {"config": config, "days": numbers.days},
            ),
            "secret": secret_cell(config),
            "steps": steps,
            "blocker": blocker,
        }

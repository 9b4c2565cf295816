"""The transition page: confirm, then apply, a change of phase or credential mode, from a
configuration's buttons or a changelist action. The rules and their numbers come from
``rollout.preview``; the change itself is ``rollout.change_many``."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..exceptions import EnforcementBlocked, InvalidAuditText, PhaseRequiresSecret, ReasonRequired
from ..models import PlatformConfig
from ..rollout import change_many, preview
from .forms import AuditReasonForm
from .transitions import TRANSITIONS, Transition
from .workspace_page import WorkspaceOverviewMixin


class TransitionPage(WorkspaceOverviewMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The transition page and the changelist actions that lead to it (a mixin of ``PlatformConfigAdmin``)."""

    def transition_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm, then apply, one change from the buttons of a configuration's page."""
        config = self.get_object(request, unquote(object_id))
        if config is None:
            raise Http404(_("No such platform configuration."))
        if not self.has_change_permission(request, config):
            raise PermissionDenied
        transition = TRANSITIONS.get(request.POST.get("transition") or request.GET.get("to") or "")
        if transition is None:
            messages.error(request, _("Choose one of the offered changes."))
            return HttpResponseRedirect(self._change_url(config))
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            self._apply(request, [config], transition)
            return HttpResponseRedirect(self._change_url(config))
        return self._confirmation(request, [config], transition, action=None)

    def _transition_action(
        self, request: HttpRequest, queryset: QuerySet[PlatformConfig], key: str, action: str
    ) -> HttpResponse | None:
        transition = TRANSITIONS[key]
        configs = list(queryset.select_related("environment"))
        risky = transition.always_confirm or any(config.environment.is_production for config in configs)
        if risky and request.POST.get("confirm") != "yes":
            return self._confirmation(request, configs, transition, action=action)
        self._apply(request, configs, transition)
        return None

    def _apply(self, request: HttpRequest, configs: Iterable[PlatformConfig], transition: Transition) -> None:
        """All or nothing: refuse the whole change if any row may not or cannot change."""
        configs = list(configs)
        forbidden = [str(c) for c in configs if not self.has_change_permission(request, c)]
        if forbidden:
            messages.error(
                request,
                _(
                    "You may not change %(rows)s: production changes need the 'manage production' "
                    "permission. Nothing was changed."
                )
                % {"rows": ", ".join(forbidden)},
            )
            return
        reason_form = AuditReasonForm(request.POST)
        if not reason_form.is_valid():
            refusal = " ".join(str(error) for error in reason_form.errors["reason"])
            messages.error(request, _("%(reason)s Nothing was changed.") % {"reason": refusal})
            return
        reason = reason_form.cleaned_data["reason"]
        force = request.POST.get("force") == "yes"
        try:
            changes = change_many(configs, transition.target, actor=request.user, reason=reason, force=force)
        except (PhaseRequiresSecret, EnforcementBlocked, ReasonRequired, InvalidAuditText) as exc:
            messages.error(request, _("%(reason)s Nothing was changed.") % {"reason": exc})
            return
        changed = [(config, previous) for config, previous in changes if previous != transition.value]
        for config, previous in changed:
            self.log_change(request, config, transition.history(previous))
        if changed:
            messages.success(
                request,
                _("Changed %(rows)s to %(what)s.")
                % {"rows": ", ".join(str(c) for c, _p in changed), "what": transition.title},
            )
        else:
            messages.info(request, _("Nothing to change: already %(what)s.") % {"what": transition.title})

    def _confirmation(
        self, request: HttpRequest, configs: list[PlatformConfig], transition: Transition, *, action: str | None
    ) -> HttpResponse:
        plan = preview(configs, transition.target)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change to %(what)s?") % {"what": transition.title},
            "opts": self.model._meta,
            "configs": [(move.config, move.current) for move in plan.moves],
            "moves": plan.moves,
            "transition": transition,
            "transition_key": f"{transition.field}:{transition.value}",
            "missing_secret": plan.missing_secret,
            "forbidden": [c for c in configs if not self.has_change_permission(request, c)],
            "includes_production": any(c.environment.is_production for c in configs),
            "readiness": plan.readiness,
            "below_threshold": bool(plan.below_threshold),
            "workspace_findings": self.workspace_findings_for(configs),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "intercom_identity/admin/confirm_transition.html", context)

    def _change_url(self, config: PlatformConfig) -> str:
        return reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])

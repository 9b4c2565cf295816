"""The transition page: confirm, then apply, a change of phase or credential mode, from a
configuration's buttons or a changelist action. The rules and their numbers come from
``rollout.preview``; the change itself is ``rollout.change_many``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from intercom_identity.admin.display import is_served, secret_cell, served_note
from intercom_identity.admin.forms import AuditReasonForm
from intercom_identity.admin.next_steps import blockers, permission_blocker
from intercom_identity.admin.pages.workspace import WorkspaceOverviewMixin
from intercom_identity.admin.transitions import TRANSITIONS, Transition
from intercom_identity.exceptions import EnforcementBlocked, InvalidAuditText, PhaseRequiresSecret, ReasonRequired
from intercom_identity.models import Platform, PlatformConfig, RolloutPhase, value_label
from intercom_identity.rollout.changes import change_many, preview

# Intercom's help article on authenticating Messenger users with JWTs (10589769): once Messenger
# Security is enforced on web, Intercom does not let it be turned off there.
WEB_ONE_WAY = _(
    "Intercom's help article on authenticating Messenger users with JWTs (article 10589769) says that once "
    "Messenger Security is enforced on web, it cannot be turned off there: Intercom will not let you undo it. "
    "Moving the web row back here later only changes what this app hands out, not what Intercom requires."
)
WEB_ACKNOWLEDGEMENT = _("I understand that Intercom will not let web enforcement be turned off once it is on.")
WEB_NOT_ACKNOWLEDGED = _(
    "Enforcing the web is one-way at Intercom: tick the acknowledgement to go ahead. Nothing was changed."
)


def needs_web_acknowledgement(configs: Iterable[PlatformConfig], transition: Transition) -> bool:
    """Whether the change moves a web row to ``enforced`` (Intercom's one-way step)."""
    return transition.target is RolloutPhase.ENFORCED and any(
        config.platform == Platform.WEB and config.phase != RolloutPhase.ENFORCED for config in configs
    )


def permission_blocker_reason(
    modeladmin: admin.ModelAdmin[PlatformConfig], request: HttpRequest, configs: Iterable[PlatformConfig]
) -> str:
    """What permission the first forbidden row needs (all of them need the same one)."""
    for config in configs:
        blocker = permission_blocker(modeladmin, request, config)
        if blocker is not None:
            return blocker.reason
    return ""


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
        # "review": a selection narrowed on the confirmation page is confirmed again, whatever it holds.
        if (risky or request.POST.get("review") == "yes") and request.POST.get("confirm") != "yes":
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
                _("You may not change %(rows)s: %(why)s. Nothing was changed.")
                % {"rows": ", ".join(forbidden), "why": permission_blocker_reason(self, request, configs)},
            )
            return
        reason_form = AuditReasonForm(request.POST)
        if not reason_form.is_valid():
            refusal = " ".join(str(error) for error in reason_form.errors["reason"])
            messages.error(request, _("%(reason)s Nothing was changed.") % {"reason": refusal})
            return
        if needs_web_acknowledgement(configs, transition) and request.POST.get("acknowledge_web") != "yes":
            messages.error(request, WEB_NOT_ACKNOWLEDGED)
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
                _("%(rows)s: now %(what)s.")
                % {"rows": ", ".join(str(c) for c, _p in changed), "what": transition.label},
            )
        else:
            messages.info(request, _("Nothing to change: already %(what)s.") % {"what": transition.label})

    def _confirmation(
        self, request: HttpRequest, configs: list[PlatformConfig], transition: Transition, *, action: str | None
    ) -> HttpResponse:
        """What the change would do, row by row, with the guard's numbers; or, when a row stops it,
        which row, why and what unblocks it, with no form that could not succeed."""
        plan = preview(configs, transition.target)
        blocked = blockers(self, request, configs, plan)
        blocked_pks = {blocker.config.pk for blocker in blocked if blocker.config is not None}
        others = [config for config in configs if config.pk not in blocked_pks]
        records_only = [config for config in configs if not is_served(config.environment)]
        context = {
            **self.admin_site.each_context(request),
            "title": transition.question,
            "opts": self.model._meta,
            "rows": [
                {
                    "config": move.config,
                    "now": value_label(move.field, move.current),
                    "after": value_label(move.field, move.target) if move.changes else None,
                    "secret": secret_cell(move.config),
                }
                for move in plan.moves
            ],
            "configs": configs,
            "transition": transition,
            "blockers": blocked,
            # A list action can go on without the rows that stop it (confirmed again).
            "others": others if action and blocked else [],
            # Real users are affected at once only where this deployment serves the environment; a
            # row of another one is a record that deployment reads (the badges' text says so).
            "production_rows": [c for c in configs if c.environment.is_production and is_served(c.environment)],
            "records_only_rows": records_only,
            "records_only_note": served_note(records_only[0].environment) if records_only else "",
            # The web messenger of these would be past "off" with no app ID to start with.
            "without_app_id": [
                move.config
                for move in plan.moves
                if move.field == "phase"
                and move.config.platform == Platform.WEB
                and move.target != RolloutPhase.OFF
                and not move.config.environment.app_id
            ],
            "consequences": transition.consequences([move.current for move in plan.moves if move.changes]),
            "readiness": plan.readiness,
            "below_threshold": bool(plan.below_threshold),
            "web_one_way": WEB_ONE_WAY if needs_web_acknowledgement(configs, transition) else None,
            "web_acknowledgement": WEB_ACKNOWLEDGEMENT,
            "workspace_findings": self.workspace_findings_for(configs),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": (
                reverse("admin:intercom_identity_platformconfig_changelist") if action else self._change_url(configs[0])
            ),
        }
        return TemplateResponse(request, "intercom_identity/admin/confirm_transition.html", context)

    def _change_url(self, config: PlatformConfig) -> str:
        return reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])


def transition_action(transition: Transition) -> Callable[..., HttpResponse | None]:
    """The changelist action for a change (``move_to_<phase>`` or ``use_<mode>``)."""
    name = f"move_to_{transition.value}" if transition.field == "phase" else f"use_{transition.value}"
    key = transition.key

    def action(
        modeladmin: TransitionPage, request: HttpRequest, queryset: QuerySet[PlatformConfig]
    ) -> HttpResponse | None:
        return modeladmin._transition_action(request, queryset, key, name)

    action.__name__ = name
    description = lazy(lambda: transition.action_description, str)()
    return admin.action(description=description, permissions=["change"])(action)

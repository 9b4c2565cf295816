"""The admin's side of workspace truth: the environment's write-only API token, and on the
overview Intercom's state, the drift banner, the *Sync with Intercom* button and the history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal.formatting import relative_time
from intercom_identity.admin.display import with_code
from intercom_identity.admin.forms import write_only_field
from intercom_identity.admin.next_steps import Blocker, ask_an_administrator, missing_permission
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.models import Environment, PlatformConfig, Region, WorkspaceSnapshot
from intercom_identity.permissions import can_manage
from intercom_identity.rollout.changes import clear_api_token, store_api_token
from intercom_identity.validators import validate_api_token

# The workspace's sync, client and drift rules load with the pages that use them, not with the
# admin: a worker that never shows them never holds them (docs/performance.md, "A worker's memory").
if TYPE_CHECKING:
    from intercom_identity.workspace.drift import Finding

    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object

TOKEN_FIELDS = ["new_api_token", "clear_api_token"]
# A sync from the admin runs in a web request: finish well before a server's usual 30 s time-out.
SYNC_DEADLINE_SECONDS = 25.0


def api_token_summary(environment: Environment) -> str:
    """Whether the environment has a token, its fingerprint and where it comes from; never the token.
    Worded as a secret's summary is: "1a2b3c4d (set 3 days ago)"."""
    if environment.api_token_managed_by_settings:
        return gettext("%(fingerprint)s (managed by settings)") % {
            "fingerprint": environment.api_token_in_use_fingerprint
        }
    if environment.encrypted_api_token:
        if environment.api_token_set_at is None:
            return environment.api_token_fingerprint
        return gettext("%(fingerprint)s (set %(when)s)") % {
            "fingerprint": environment.api_token_fingerprint,
            "when": relative_time(environment.api_token_set_at),
        }
    return "-"


class EnvironmentForm(forms.ModelForm):  # type: ignore[type-arg]
    """The environment's fields, plus the write-only API token (set, or delete the stored one)."""

    new_api_token = write_only_field(
        _("New Intercom API token"),
        _(
            "An access token of an app in this workspace's Developer Hub with the 'Read admins' permission, "
            "to compare this environment with what Intercom reports. Leave empty to keep the current one. "
            "It is stored encrypted and never shown."
        ),
    )
    clear_api_token = forms.BooleanField(label=_("Delete the stored API token"), required=False)

    # No Meta: the admin builds the form for Environment with all its editable fields, so a field
    # added to the model later appears without being listed here.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "region" in self.fields:
            self.fields["region"].required = False  # a form that predates the field keeps the default
        self.previous_api_token_fingerprint = self.instance.api_token_fingerprint
        if self.instance.pk and self.instance.api_token_managed_by_settings:
            self.fields.pop("new_api_token", None)
            self.fields.pop("clear_api_token", None)

    def clean_region(self) -> str:
        return str(self.cleaned_data.get("region") or Region.US)

    @method_decorator(sensitive_variables())
    def clean_new_api_token(self) -> str:
        token: str = self.cleaned_data["new_api_token"]
        if token:
            try:
                validate_api_token(token)
            except ValueError as exc:
                raise ValidationError(str(exc), code="invalid_api_token") from None
        return token


class EnvironmentApiTokenMixin(_ModelAdmin):
    """The environment admin's token field: write-only, encrypted, audited. Its ciphertext and
    fingerprint are never filterable and its POSTed value never reported: ``AppModelAdmin``'s
    rules, which the environment admin is built on."""

    form = EnvironmentForm
    write_only_fields: tuple[str, ...] = ("new_api_token",)  # read by AppModelAdmin.changeform_view

    @admin.display(description=_("Intercom API token"))
    def api_token(self, obj: Environment) -> str:
        return api_token_summary(obj)

    def get_fields(self, request: HttpRequest, obj: Environment | None = None) -> Any:
        """The token fields last, and none for a token managed by settings (the form drops them too)
        nor for a reader who may not change it (a read-only page would show them as "None")."""
        fields = [f for f in super().get_fields(request, obj) if f not in ("api_token", *TOKEN_FIELDS)]
        fields.append("api_token")  # the summary (fingerprint, source), then the fields to change it
        if (obj is None or not obj.api_token_managed_by_settings) and self.has_change_permission(request, obj):
            fields += TOKEN_FIELDS
        return fields

    @method_decorator(sensitive_variables())
    def save_model(self, request: HttpRequest, obj: Environment, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        token = form.cleaned_data.get("new_api_token")
        if token:
            store_api_token(obj, token, actor=request.user)
        elif form.cleaned_data.get("clear_api_token"):
            clear_api_token(obj, actor=request.user)

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> Any:
        """History says that the token changed, by fingerprint; never the token."""
        message = super().construct_change_message(request, form, formsets, add)
        if not isinstance(form, EnvironmentForm):
            return message
        labels = {str(form.fields[name].label) for name in TOKEN_FIELDS if name in form.fields}
        for entry in message:
            if "changed" in entry:
                entry["changed"]["fields"] = [f for f in entry["changed"]["fields"] if f not in labels]
        message = [entry for entry in message if entry.get("changed", {"fields": True})["fields"]]
        if form.cleaned_data.get("new_api_token") or form.cleaned_data.get("clear_api_token"):
            before = form.previous_api_token_fingerprint or pgettext("no value", "none")
            after = form.instance.api_token_fingerprint or pgettext("no value", "none")
            change = gettext("API token (fingerprint %(before)s → %(after)s)") % {"before": before, "after": after}
            message.append({"changed": {"fields": [change]}})
        return message


class WorkspaceOverviewMixin(_ModelAdmin):
    """Intercom's state on the overview and the confirmation page, and the sync button's view."""

    def workspace_urls(self) -> list[URLPattern]:
        return [
            path(
                "overview/sync/<slug:environment>/",
                self.admin_site.admin_view(self.workspace_sync_view),
                name="intercom_identity_platformconfig_workspace_sync",
            ),
        ]

    def may_sync(self, request: HttpRequest, environment: Environment) -> bool:
        """The change permission, and for production the production permission, as for a phase change."""
        return self.has_change_permission(request) and can_manage(request.user, environment)

    def workspace_sync_view(self, request: HttpRequest, environment: str) -> HttpResponse:
        """POST: read the workspace now, then back to the overview with the outcome as a message."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        env = Environment.objects.filter(slug=environment).first()
        if env is None:
            raise Http404(_("No such environment."))
        if not self.may_sync(request, env):
            raise PermissionDenied
        from intercom_identity.workspace import sync as workspace

        try:
            result = workspace.sync(env, deadline=SYNC_DEADLINE_SECONDS)
        except IntercomIdentityError as exc:
            messages.error(
                request,
                with_code(gettext("Could not sync %(env)s with Intercom: %(reason)s") % {"env": env, "reason": exc}),
            )
        else:
            count = len(result["drift"])
            if count:
                messages.warning(
                    request,
                    _("Synced %(env)s with Intercom: %(count)d drift finding(s).") % {"env": env, "count": count},
                )
            else:
                messages.success(request, _("Synced %(env)s with Intercom: no drift.") % {"env": env})
        url = reverse("admin:intercom_identity_platformconfig_overview")
        return HttpResponseRedirect(f"{url}#env-{env.slug}")

    def workspace_context(self, request: HttpRequest, environment: Environment) -> dict[str, Any]:
        """What the overview shows of one environment's workspace (stored data only)."""
        from intercom_identity.workspace import sync as workspace

        return {
            "snapshot": WorkspaceSnapshot.objects.filter(environment=environment).first(),
            "findings": workspace.findings(environment),
            "timeline": workspace.timeline(environment),
            "has_token": environment.has_api_token,
            "can_sync": self.may_sync(request, environment),
            "sync_url": reverse("admin:intercom_identity_platformconfig_workspace_sync", args=[environment.slug]),
            # No button that could not succeed: why there is none, and where the token is set.
            "sync_blocker": self.sync_blocker(request, environment),
            "token_url": self.token_url(request, environment),
        }

    def sync_blocker(self, request: HttpRequest, environment: Environment) -> Blocker | None:
        """Why this user has no sync button: the permission a phase change there needs."""
        reason = missing_permission(self, request, environment)
        if reason is None:
            return None
        return Blocker(None, gettext("syncing %(reason)s") % {"reason": reason}, ask_an_administrator())

    def token_url(self, request: HttpRequest, environment: Environment) -> str | None:
        """The environment's token field, for a user who may set it; else None."""
        if not (
            request.user.has_perm("intercom_identity.change_environment") and can_manage(request.user, environment)
        ):
            return None
        if environment.api_token_managed_by_settings:
            return None
        return reverse("admin:intercom_identity_environment_change", args=[environment.pk]) + "#id_new_api_token"

    def workspace_findings_for(self, configs: list[PlatformConfig]) -> list[tuple[Environment, Finding]]:
        """The findings a change of ``configs`` should be shown: each platform's own and its workspace's."""
        from intercom_identity.workspace import sync as workspace
        from intercom_identity.workspace.drift import relevant_to

        shown: list[tuple[Environment, Finding]] = []
        by_environment: dict[int, list[Finding]] = {}
        for config in configs:
            env = config.environment
            if env.pk not in by_environment:
                by_environment[env.pk] = workspace.findings(env)
            shown += [
                (env, finding)
                for finding in relevant_to(by_environment[env.pk], config.platform)
                if (env, finding) not in shown
            ]
        return shown

"""Admin for environments, their write-only secrets and their rollout phases.

Secrets are never rendered: the form takes a new one and the pages show its fingerprint.
Phases change only through the phase actions or the buttons on a configuration's page,
both of which go through ``services.change_phase`` and are recorded as admin history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .activity import adoption, clean_min_version
from .charts import trend_svg
from .conf import conf
from .exceptions import InvalidAuditText, InvalidCredentialInput, PhaseRequiresSecret, SecretUnavailable
from .hashing import validate_secret
from .models import AuditEvent, CredentialMode, Environment, Platform, PlatformConfig, RolloutPhase
from .rollout import (
    EnforcementBlocked,
    ReasonRequired,
    change_mode,
    change_phase,
    set_min_sending_version,
    store_secret,
)
from .sensitive import reaches_sensitive_field
from .services import can_manage, verify
from .text import clean_audit_reason
from .verification import REASONS

PHASE_CONSEQUENCES = {
    RolloutPhase.OFF: _("No hash is handed out. If Intercom still enforces, users of this platform will be rejected."),
    RolloutPhase.SENDING: _("Hashes are handed out; Intercom does not enforce them yet. Safe to ship."),
    RolloutPhase.ENFORCED: _(
        "Only turn this on once Intercom enforces identity verification for this platform and nearly all "
        "active users run an app version that sends the hash: versions that do not will stop working."
    ),
}


MODE_CONSEQUENCES = {
    CredentialMode.USER_HASH: _("The app hands out the user hash (HMAC), which every SDK version understands."),
    CredentialMode.JWT: _(
        "The app hands out signed JWTs instead of the hash. Only switch once the app versions in use pass "
        "intercom_user_jwt to the SDK: under enforcement, versions that only know the hash stop working."
    ),
}


@dataclass(frozen=True)
class Transition:
    """One explicit change of a configuration: its phase or its credential mode."""

    field: str
    value: str
    title: str
    button: str
    action_description: str
    consequence: str
    always_confirm: bool

    @property
    def needs_secret(self) -> bool:
        return self.field == "phase" and RolloutPhase(self.value).needs_secret

    def is_current(self, config: PlatformConfig) -> bool:
        return bool(getattr(config, self.field) == self.value)

    @property
    def guarded(self) -> bool:
        """Whether adoption guards this change (moving to ``enforced``)."""
        return self.field == "phase" and self.value == RolloutPhase.ENFORCED

    def apply(self, config: PlatformConfig, *, actor: Any, reason: str, force: bool) -> str:
        """Apply through the service that enforces the rules and audits; returns the previous value."""
        if self.field == "phase":
            return change_phase(config, self.value, actor=actor, reason=reason, force=force).value
        return change_mode(config, self.value, actor=actor, reason=reason).value

    def history(self, previous: str) -> str:
        what = "Phase" if self.field == "phase" else "Credential mode"
        return f"{what} changed from {previous} to {self.value}."

    def admin_action(self) -> Callable[..., HttpResponse | None]:
        """The changelist action for this change (``move_to_<phase>`` or ``use_<mode>``)."""
        name = f"move_to_{self.value}" if self.field == "phase" else f"use_{self.value}"
        key = f"{self.field}:{self.value}"

        def action(
            modeladmin: PlatformConfigAdmin, request: HttpRequest, queryset: QuerySet[PlatformConfig]
        ) -> HttpResponse | None:
            return modeladmin._transition_action(request, queryset, key, name)

        action.__name__ = name
        return admin.action(description=self.action_description, permissions=["change"])(action)


TRANSITIONS: dict[str, Transition] = {
    **{
        f"phase:{phase.value}": Transition(
            "phase",
            phase.value,
            f"phase '{phase.value}'",
            f"Move to {phase.label}",
            f"Move selected to phase: {phase.value}",
            str(PHASE_CONSEQUENCES[phase]),
            always_confirm=phase is RolloutPhase.ENFORCED,
        )
        for phase in RolloutPhase
    },
    **{
        f"credential_mode:{mode.value}": Transition(
            "credential_mode",
            mode.value,
            f"credential '{mode.value}'",
            f"Hand out {mode.label}",
            f"Hand out {mode.label} for selected",
            str(MODE_CONSEQUENCES[mode]),
            always_confirm=True,
        )
        for mode in CredentialMode
    },
}


PHASE_ORDER = list(RolloutPhase)


def _neighbour_phase(phase: RolloutPhase, step: int) -> RolloutPhase | None:
    """The next (+1) or previous (-1) phase of the rollout, or None at either end."""
    index = PHASE_ORDER.index(phase) + step
    return PHASE_ORDER[index] if 0 <= index < len(PHASE_ORDER) else None


class CheckCredentialForm(forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), to_field_name="slug", initial=lambda: conf.ENVIRONMENT
    )
    platform = forms.ChoiceField(choices=Platform.choices)
    user_id = forms.CharField(required=False, strip=False, max_length=16_384)
    email = forms.CharField(required=False, strip=False, max_length=16_384)
    # Credentials are stripped: a pasted trailing newline is the form's artefact, not the app's.
    user_hash = forms.CharField(required=False, max_length=16_384)
    intercom_user_jwt = forms.CharField(
        label=_("Intercom user JWT"),
        required=False,
        max_length=16_384,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not data.get("user_hash")
            and not data.get("intercom_user_jwt")
            and (data.get("user_id") or data.get("email"))
        ):
            raise ValidationError(_("Paste the user_hash or the JWT the app sends."))
        return data


class AuditReasonForm(forms.Form):
    """The reason posted with a change, checked by the audit trail's own rule before anything changes."""

    # A plain Field: CharField would answer a NUL with its own message before the rule is asked.
    reason = forms.Field(required=False)

    def clean_reason(self) -> str:
        try:
            return clean_audit_reason(str(self.cleaned_data["reason"] or "").strip())
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_reason") from None


def secret_summary(config: PlatformConfig) -> str:
    """The fingerprint of the secret in use and where it comes from; never the secret."""
    if config.managed_by_settings:
        return f"{config.fingerprint} (managed by settings)"
    return config.fingerprint or "—"


class PlatformConfigForm(forms.ModelForm):  # type: ignore[type-arg]
    new_secret = forms.CharField(
        label=_("New secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Paste the identity verification secret from Intercom's settings for this platform to set "
            "or replace it. Leave empty to keep the current one. It is stored encrypted and never shown."
        ),
    )

    class Meta:
        model = PlatformConfig
        fields = ["min_sending_version"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Remembered for the history entry, which is written after the new secret is saved.
        self.previous_fingerprint = self.instance.secret_fingerprint
        if self.instance.pk and self.instance.managed_by_settings:
            self.fields.pop("new_secret", None)  # the secret lives in settings: nothing to type here

    def clean_min_sending_version(self) -> str:
        version: str = self.cleaned_data["min_sending_version"]
        try:
            return clean_min_version(version) if version.strip() else ""
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_version") from None

    @method_decorator(sensitive_variables())
    def clean_new_secret(self) -> str:
        secret: str = self.cleaned_data["new_secret"]
        if secret:
            try:
                validate_secret(secret)
            except ValueError as exc:
                raise ValidationError(str(exc), code="invalid_secret") from None
        return secret


class AppModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The base of every ModelAdmin of the app: what its changelists refuse to be asked.

    No filter may reach a field holding secret material, directly or through a relation
    (counting the rows a ``__regex`` filter leaves recovers a ciphertext); which fields those
    are is ``sensitive``'s rule, not a list here. A filter value or a selected row id that the
    database cannot take (a NUL byte on PostgreSQL, an id that is no number) is a 400 or a
    message, not a 500.
    """

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if reaches_sensitive_field(self.model, lookup) or "\x00" in str(value):
            return False
        return super().lookup_allowed(lookup, value, request)

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """Django filters on the posted ids before any action runs: one that is no id would raise."""
        pk = self.model._meta.pk
        assert pk is not None  # noqa: S101 - every model has one
        try:
            for selected in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.to_python(selected)
        except ValidationError:
            messages.error(request, _("The selection holds a row id that is not one. Nothing was changed."))
            return None
        return super().response_action(request, queryset)


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
class EnvironmentAdmin(AppModelAdmin):
    list_display = ["label", "slug", "app_id", "is_production", "is_current", "phases"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [PlatformConfigInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Environment]:
        return super().get_queryset(request).prefetch_related("platforms")

    def get_readonly_fields(self, request: HttpRequest, obj: Environment | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("slug")  # the setting and history refer to it
        if obj is not None and not request.user.has_perm("intercom_identity.manage_production"):
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


@admin.register(PlatformConfig)
class PlatformConfigAdmin(AppModelAdmin):
    form = PlatformConfigForm
    change_form_template = "intercom_identity/admin/platformconfig_change_form.html"
    list_display = [
        "__str__",
        "environment",
        "platform",
        "phase",
        "credential_mode",
        "secret",
        "secret_set_at",
        "phase_changed_at",
    ]
    list_filter = ["environment", "platform", "phase", "credential_mode"]
    list_select_related = ["environment"]
    readonly_fields = [
        "environment",
        "platform",
        "phase",
        "credential_mode",
        "secret",
        "secret_set_at",
        "phase_changed_at",
    ]
    # Phase and mode change only through the transitions below; the form edits these two.
    fields = [*readonly_fields, "min_sending_version", "new_secret"]

    @admin.display(description=_("secret"))
    def secret(self, obj: PlatformConfig) -> str:
        return secret_summary(obj)

    def get_fields(self, request: HttpRequest, obj: PlatformConfig | None = None) -> Any:
        """No secret field for a pair whose secret is managed by settings (the form drops it too)."""
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.managed_by_settings:
            fields.remove("new_secret")
        return fields

    # move_to_off, move_to_sending, move_to_enforced, use_user_hash, use_jwt
    actions = [transition.admin_action() for transition in TRANSITIONS.values()]
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

    @method_decorator(sensitive_post_parameters("new_secret"))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    @method_decorator(sensitive_variables())
    def save_model(self, request: HttpRequest, obj: PlatformConfig, form: Any, change: bool) -> None:
        """Save through the services, field by field: a full save would write back a phase changed
        meanwhile, and the services audit each change."""
        secret = form.cleaned_data.get("new_secret")
        if secret:
            store_secret(obj, secret, actor=request.user)
        if "min_sending_version" in form.changed_data:
            set_min_sending_version(obj, form.cleaned_data["min_sending_version"], actor=request.user)

    def construct_change_message(self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False) -> Any:
        """History says that the secret changed, by fingerprint; never the secret."""
        if not isinstance(form, PlatformConfigForm):
            return []
        parts = []
        if form.cleaned_data.get("new_secret"):
            previous = form.previous_fingerprint or "none"
            parts.append(f"Secret replaced (fingerprint {previous} -> {form.instance.secret_fingerprint}).")
        if "min_sending_version" in form.changed_data:
            parts.append(f"Minimum sending version set to '{form.cleaned_data['min_sending_version'] or 'none'}'.")
        return " ".join(parts)

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
            context["transitions"] = [
                (key, transition.button) for key, transition in TRANSITIONS.items() if not transition.is_current(obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- phase and credential changes --------------------------------------------------

    def get_urls(self) -> list[Any]:
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
            *super().get_urls(),
        ]

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
            with transaction.atomic():
                changes = [
                    (config, transition.apply(config, actor=request.user, reason=reason, force=force))
                    for config in configs
                ]
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
        readiness = [(config, adoption(config, with_daily=False)) for config in configs] if transition.guarded else []
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change to %(what)s?") % {"what": transition.title},
            "opts": self.model._meta,
            "configs": [(config, getattr(config, transition.field)) for config in configs],
            "transition": transition,
            "transition_key": f"{transition.field}:{transition.value}",
            "missing_secret": [c for c in configs if transition.needs_secret and not c.has_secret],
            "forbidden": [c for c in configs if not self.has_change_permission(request, c)],
            "includes_production": any(c.environment.is_production for c in configs),
            "readiness": readiness,
            "below_threshold": any(not numbers.meets_threshold for _config, numbers in readiness),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "intercom_identity/admin/confirm_transition.html", context)

    def _change_url(self, config: PlatformConfig) -> str:
        return reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])

    # --- overview ----------------------------------------------------------------------

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
                        "next": _neighbour_phase(phase, +1),
                        "previous": _neighbour_phase(phase, -1),
                        "can_change": self.has_change_permission(request, config),
                    }
                )
            environments.append(
                {"environment": environment, "rows": rows, "current": environment.slug == conf.ENVIRONMENT}
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Identity verification"),
            "opts": self.model._meta,
            "environments": environments,
        }
        return TemplateResponse(request, "intercom_identity/admin/overview.html", context)

    # --- check a credential ------------------------------------------------------------

    def check_view(self, request: HttpRequest) -> HttpResponse:
        """ "Check a credential": what Intercom would say of what an app sends, and why."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = CheckCredentialForm(request.POST or None)
        result = error = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result, _config = verify(
                    data["platform"],
                    data["environment"],
                    user_id=data["user_id"] or None,
                    email=data["email"] or None,
                    user_hash=data["user_hash"] or None,
                    token=data["intercom_user_jwt"] or None,
                )
            except (SecretUnavailable, InvalidCredentialInput) as exc:
                error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Check a credential"),
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "error": error,
            "fix": REASONS.get(result.diagnosis.reason) if result and result.diagnosis else None,
        }
        return TemplateResponse(request, "intercom_identity/admin/check_credential.html", context)


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

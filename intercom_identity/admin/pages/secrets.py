"""The configuration page's buttons that make, rotate and retire its secret through Intercom's API
(``workspace.secrets``), with the permissions of setting a secret by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from intercom_identity.admin.forms import AuditReasonForm
from intercom_identity.admin.pages.workspace import SYNC_DEADLINE_SECONDS
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.models import PlatformConfig
from intercom_identity.rollout.changes import retire_deadline

ACTIONS = ("create", "rotate", "retire")


class IntercomSecretPage(admin.ModelAdmin):  # type: ignore[type-arg]
    """A mixin of ``PlatformConfigAdmin``: one POST view for the three buttons."""

    def intercom_secret_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/intercom-secret/",
                # Never one transaction for the whole request (ATOMIC_REQUESTS): the name recorded
                # before Intercom is asked must be committed, or a failure could not be cleaned up.
                transaction.non_atomic_requests(self.admin_site.admin_view(self.intercom_secret_view)),
                name="intercom_identity_platformconfig_intercom_secret",
            )
        ]

    def intercom_secret_buttons(self, request: HttpRequest, config: PlatformConfig) -> dict[str, Any] | None:
        """What the change form offers: None when this user may not set the secret, or settings supply it."""
        if config.managed_by_settings or not self.has_change_permission(request, config):
            return None
        if config.pending_secret_name:  # an unfinished attempt: the same button finishes it
            offered = ["create" if not config.intercom_secret_id else "rotate"]
        elif config.previous_intercom_secret_id:  # Intercom still holds the old one: retire it before another moves in
            offered = ["retire"] if config.encrypted_secret else ["create", "retire"]
        else:
            offered = ["rotate" if config.intercom_secret_id else "create"]
            if config.intercom_secret_id and config.encrypted_previous_secret:
                offered.append("retire")  # a secret copied by hand, replaced by the first one made here
        return {
            "url": reverse("admin:intercom_identity_platformconfig_intercom_secret", args=[config.pk]),
            "offered": offered,
            "retire_from": retire_deadline(config) if "retire" in offered else None,
            "has_token": config.environment.has_api_token,
        }

    def intercom_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST ``secret_action`` = create, rotate or retire (retire: ``force`` with a ``reason`` too)."""
        from intercom_identity.workspace import secrets

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        config = self.get_object(request, unquote(object_id))
        if config is None:
            raise Http404(_("No such platform configuration."))
        if not self.has_change_permission(request, config):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:intercom_identity_platformconfig_change", args=[config.pk]))
        action = request.POST.get("secret_action", "")
        reason_form = AuditReasonForm(request.POST)
        if action not in ACTIONS or not reason_form.is_valid():
            messages.error(request, _("Choose one of the offered buttons (and a reason the audit trail takes)."))
            return back
        reason = reason_form.cleaned_data["reason"]
        try:
            if action == "retire":
                intercom_id, _existed = secrets.retire_secret(
                    config,
                    force=request.POST.get("force") == "yes",
                    actor=request.user,
                    reason=reason,
                    deadline=SYNC_DEADLINE_SECONDS,  # a web request: the admin's bound, as its sync
                )
                done = _("previous secret %(id)s deleted in Intercom and forgotten.") % {"id": intercom_id or "-"}
            else:
                fingerprint = secrets.create_secret(
                    config, rotate=action == "rotate", actor=request.user, reason=reason, deadline=SYNC_DEADLINE_SECONDS
                )
                config.refresh_from_db()
                done = _("new secret %(fingerprint)s made in Intercom (id %(id)s) and stored; it is never shown.") % {
                    "fingerprint": fingerprint,
                    "id": config.intercom_secret_id,
                }
        except (IntercomIdentityError, ValueError) as exc:
            reason_text = getattr(exc, "reason", None) or str(exc)
            messages.error(request, _("%(config)s: %(reason)s") % {"config": config, "reason": reason_text})
            return back
        self.log_change(request, config, done)
        messages.success(request, _("%(config)s: %(done)s") % {"config": config, "done": done})
        return back

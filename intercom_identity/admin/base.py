"""The base of every ModelAdmin of the app: what its changelists refuse to be asked, and what
its change forms keep out of error reports."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import BadRequest, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from intercom_identity._internal.sensitive import reaches_sensitive_field


class AppChangeList(ChangeList):
    """Django's changelist, with a date no ``datetime`` can hold being a bad request.

    Django turns a ``ValueError`` of ``date_hierarchy``'s year, month and day into its "?e=1"
    redirect, but ``?created_at__year=99999999999999999999`` (or a huge day) raises
    ``OverflowError``, and the last year (9999) a ``ValueError`` outside its ``try``: both were 500s.
    """

    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError):
            raise BadRequest("A date filter is out of range.") from None


class AppModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The base of every ModelAdmin of the app (environments with their API token, platform
    configurations with their secrets, the audit trail).

    No filter may reach a field holding secret material, directly or through a relation
    (counting the rows a ``__regex`` filter leaves recovers a ciphertext); which fields those
    are is ``sensitive``'s rule, not a list here. A filter value or a selected row id that the
    database cannot take (a NUL byte on PostgreSQL, an id that is no number) or a date no
    ``datetime`` holds is a 400 or a message, not a 500. The POSTed values of
    ``write_only_fields`` (a new secret, a new API token) are hidden from error reports.
    """

    write_only_fields: tuple[str, ...] = ()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AppChangeList

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if reaches_sensitive_field(self.model, lookup) or "\x00" in str(value):
            return False
        return super().lookup_allowed(lookup, value, request)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], action_location: Any = None
    ) -> HttpResponse | None:
        """Django filters on the posted ids before any action runs: one that is no id would raise.

        Django 6.1 passes ``action_location``; 5.2 and 6.0 have no such parameter to pass on.
        """
        pk = self.model._meta.pk
        assert pk is not None  # noqa: S101 - every model has one
        try:
            for selected in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.to_python(selected)
        except ValidationError:
            messages.error(request, _("The selection holds a row id that is not one. Nothing was changed."))
            return None
        where = {} if action_location is None else {"action_location": action_location}
        return super().response_action(request, queryset, **where)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        warn_about_configuration(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        warn_about_configuration(request)
        view = super().changeform_view
        if self.write_only_fields:  # (none named would mean "all" to sensitive_post_parameters)
            view = sensitive_post_parameters(*self.write_only_fields)(view)
        return view(request, object_id, form_url, extra_context)


def warn_about_configuration(request: HttpRequest) -> None:
    """The warnings every page of the app shows while they hold (a web platform past ``off`` in an
    environment without an app ID), as admin messages at the warning level; on the pages people
    read (GET), so a form's POST and its redirect do not say it twice."""
    if request.method != "GET":
        return
    from intercom_identity.admin.display import web_without_app_id

    for warning in web_without_app_id():
        messages.warning(request, warning)

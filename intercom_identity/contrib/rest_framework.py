"""The JSON view as a Django REST framework ``APIView`` (``pip install "intercom-identity[rest_framework]"``).

It authenticates with the project's DRF authentication classes (``DEFAULT_AUTHENTICATION_CLASSES``,
or ``authentication_classes`` on a subclass) and answers exactly as the plain view: the same core
(``intercom_identity.views.identity_response``), statuses, ``{"error", "detail"}`` bodies,
``Cache-Control: no-store``, rate limit and 503s. It is the endpoint for the mobile SDKs'
``setUserJwtProvider`` when the app's API authenticates with tokens.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils.cache import add_never_cache_headers
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from intercom_identity import http
from intercom_identity.contrib import login_payload
from intercom_identity.views import ALLOWED_METHODS, NOT_AUTHENTICATED, identity_response

__all__ = ["IntercomIdentityView", "IntercomLoginMixin", "with_intercom"]


class JSONOnly(BaseContentNegotiation):
    """JSON whatever the ``Accept`` header says, as the plain view (no 406 for ``Accept: text/html``)."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class IntercomIdentityView(APIView):
    """``GET ?platform=ios|android|web`` (or ``X-Intercom-Platform``): the signed-in user's identity."""

    # Anonymous requests reach the view, which answers the app's own 401 body.
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly
    http_method_names = ["get", "head"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The method first, as the plain view: a POST is a 405, not the CSRF 403 of session authentication.
        if request.method not in ALLOWED_METHODS:
            raise exceptions.MethodNotAllowed(str(request.method))
        super().initial(request, *args, **kwargs)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> JsonResponse:
        user = request.user if request.user is not None and request.user.is_authenticated else None
        return identity_response(request._request, user)

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        """DRF's exceptions as the plain view's answers, never DRF's ``{"detail"}`` bodies."""
        django_request: HttpRequest = self.request._request if isinstance(self.request, Request) else self.request
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            response = http.error_response(401, "not_authenticated", NOT_AUTHENTICATED)
            challenge = self.get_authenticate_header(self.request)
            if challenge:
                response["WWW-Authenticate"] = challenge
            return response
        if isinstance(exc, exceptions.MethodNotAllowed):
            return http.method_not_allowed(django_request, ALLOWED_METHODS)
        if isinstance(exc, exceptions.Throttled):  # the project's own DRF throttles, if any
            wait = max(1, round(exc.wait or 1))
            response = http.error_response(429, "rate_limited", f"Too many requests; retry in {wait} seconds.")
            response["Retry-After"] = str(wait)
            return response
        if isinstance(exc, exceptions.PermissionDenied):
            return http.error_response(403, "permission_denied", "You may not get an Intercom identity.")
        if isinstance(exc, exceptions.APIException):
            return http.error_response(exc.status_code, str(exc.default_code), "The request was refused.")
        error = http.error_for(exc)
        if error is not None:  # the database down during authentication, a misconfiguration
            return http.error_response(*error)
        return cast(HttpResponseBase, super().handle_exception(exc))

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        assert isinstance(response, HttpResponseBase)  # noqa: S101 - DRF asserts it too
        add_never_cache_headers(response)  # every answer, errors included, as @never_cache on the plain view
        return response


class IntercomLoginMixin:
    """A DRF serializer's representation plus ``"intercom"``: ``login_payload`` of the signed-in
    user, when the request names a platform. The serializer needs the request in its context
    (``context={"request": request}``: DRF's generic views pass it)."""

    context: dict[str, Any]

    def intercom_user(self, instance: Any) -> Any:
        """Who logged in, from what the serializer represents: override for another shape."""
        return getattr(instance, "user", None) if not isinstance(instance, dict) else instance.get("user")

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)  # type: ignore[misc]
        return with_intercom(data, self.context.get("request"), self.intercom_user(instance))


def with_intercom(data: Any, request: Any, user: Any) -> Any:
    """``data`` (a login response's dict) with ``"intercom"`` added when there is something to add."""
    if request is None or user is None:
        return data
    intercom = login_payload(request._request if isinstance(request, Request) else request, user)
    if intercom is not None:
        data["intercom"] = intercom
    return data

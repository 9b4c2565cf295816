"""The JSON answers of the app's endpoints when they cannot answer normally: every error is
``{"error": code, "detail": sentence}`` with its status. Public, so that a site's own JSON
views (the demo's login API) answer the same way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError
from django.http import HttpRequest, JsonResponse

from intercom_identity._internal import outages
from intercom_identity._internal.ratelimit import retry_after
from intercom_identity.exceptions import MissingSecret, UnknownEnvironment, UnservedEnvironment

logger = logging.getLogger(__name__)

# A JSON view, sync or ``async def``.
View = TypeVar("View", bound=Callable[..., Any])


def error_response(status: int, code: str, detail: str) -> JsonResponse:
    """Every error of the app's endpoints has this shape: ``{"error": code, "detail": sentence}``."""
    return JsonResponse({"error": code, "detail": detail}, status=status)


def method_not_allowed(request: HttpRequest, allowed: tuple[str, ...]) -> JsonResponse:
    response = error_response(
        405, "method_not_allowed", f"{request.method} is not allowed here; use {' or '.join(allowed)}."
    )
    response["Allow"] = ", ".join(allowed)
    return response


def rate_limited(
    request: HttpRequest, endpoint: str, limit: int, user: Any = None, *, environment: str | None = None
) -> JsonResponse | None:
    """429 JSON with ``Retry-After`` when the client address, or the user, is over ``limit`` a minute
    (counted per ``environment`` when given: one workspace's traffic does not use up another's)."""
    scope = endpoint if environment is None else f"{endpoint}:{environment}"
    buckets = [f"{scope}:addr:{request.META.get('REMOTE_ADDR', '')}"]
    if user is not None and getattr(user, "pk", None) is not None:
        buckets.append(f"{scope}:user:{user.pk}")
    waits = [wait for bucket in buckets if (wait := retry_after(bucket, limit)) is not None]
    if not waits:
        return None
    response = error_response(429, "rate_limited", f"Too many requests; retry in {max(waits)} seconds.")
    response["Retry-After"] = str(max(waits))
    return response


def unserved(exc: UnservedEnvironment) -> JsonResponse:
    """400 for a request that asks for an environment this deployment does not serve."""
    return error_response(400, "unknown_environment", str(exc))


def unavailable(exc: Exception) -> JsonResponse:
    """503 for a server-side configuration problem; the log gets the reason, the client a sentence."""
    if isinstance(exc, UnservedEnvironment):  # the client's mistake, not the server's
        return unserved(exc)
    logger.error("Intercom identity unavailable: %s", exc)
    if isinstance(exc, UnknownEnvironment):
        return error_response(503, "environment_not_configured", "Intercom identity is not configured on this server.")
    if isinstance(exc, MissingSecret):
        return error_response(503, "secret_missing", "No Intercom secret is stored for this platform yet.")
    return error_response(503, "secret_unavailable", "Intercom identity is temporarily unavailable on this server.")


def json_errors(view: View) -> View:
    """What would otherwise be an HTML error page is a JSON answer: a database that is down or a
    misconfiguration is a 503, a request Django finds suspicious (too many fields) a 400.

    Wraps a sync view in a sync function and an ``async def`` view in a coroutine function, so
    neither costs Django a thread hop to adapt it.
    """
    if iscoroutinefunction(view):

        @wraps(view)
        async def async_wrapper(request: HttpRequest) -> JsonResponse:
            try:
                response = await view(request)
            except ERRORS_ANSWERED as exc:
                return error_answer(exc)
            outages.DATABASE.available()
            return response  # type: ignore[no-any-return]

        return async_wrapper  # type: ignore[return-value]

    @wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        try:
            response = view(request)
        except ERRORS_ANSWERED as exc:
            return error_answer(exc)
        outages.DATABASE.available()
        return response  # type: ignore[no-any-return]

    return wrapper  # type: ignore[return-value]


# UnservedEnvironment: from resolve_environment(), wherever the view calls it; InterfaceError: a
# connection closed under the view.
ERRORS_ANSWERED = (UnservedEnvironment, DatabaseError, InterfaceError, ImproperlyConfigured, SuspiciousOperation)


def error_answer(exc: Exception) -> JsonResponse:
    """The JSON answer to one of ``ERRORS_ANSWERED`` raised by a view."""
    if isinstance(exc, UnservedEnvironment):
        return unserved(exc)
    if isinstance(exc, (DatabaseError, InterfaceError)):
        outages.DATABASE.failed(exc, "the JSON views answer 503 database_unavailable")  # logged bounded
        return error_response(503, "database_unavailable", "Intercom identity is temporarily unavailable.")
    if isinstance(exc, ImproperlyConfigured):
        logger.error("Intercom identity unavailable: %s", exc)
        return error_response(503, "misconfigured", "Intercom identity is not configured correctly on this server.")
    return error_response(400, "bad_request", f"The request was refused: {type(exc).__name__}.")


def read_body(request: HttpRequest) -> bytes | JsonResponse:
    """The request body, or the JSON error for one that cannot be read (too large, bad length).

    A Content-Length that is not a number is refused here, not left to Django: 5.2 raises
    ``ValueError`` reading the body, 6.1 reads it as 0 (an empty body), and the answer must be
    the same 400 ``invalid_body`` on every supported Django.
    """
    try:
        int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(400, "invalid_body", "The Content-Length header is not a number.")
    try:
        return request.body
    except RequestDataTooBig:
        return error_response(413, "body_too_large", "The body is larger than this server accepts.")

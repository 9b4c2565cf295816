"""The JSON answers of the app's endpoints when they cannot answer normally: every error is
``{"error": code, "detail": sentence}`` with its status. The helpers a site's own JSON views
need to answer the same way are exported by ``intercom_identity`` (its ``__all__``)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, overload

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError
from django.http import HttpRequest, JsonResponse

from intercom_identity._internal import outages, ratelimit
from intercom_identity._internal.cacheguard import CacheUnavailable
from intercom_identity._internal.ratelimit import retry_after
from intercom_identity.conf import conf
from intercom_identity.exceptions import (
    IdentityCallableRaised,
    MissingSecret,
    SecretUnavailable,
    UnknownEnvironment,
    UnknownPlatform,
    UnservedEnvironment,
)

logger = logging.getLogger(__name__)


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
    """429 JSON with ``Retry-After`` when the request's bucket is over ``limit`` a minute.

    The bucket is the signed-in ``user``'s, else the client address's (``TRUSTED_PROXIES``,
    IPv6 per /64): one cache round trip. Counted per ``environment`` when given (one
    workspace's traffic does not use up another's). With ``RATE_LIMIT_FAIL_CLOSED`` a cache
    that is down is a 503 instead of no limit.
    """
    scope = endpoint if environment is None else f"{endpoint}:{environment}"
    try:
        wait = retry_after(ratelimit.bucket(request, scope, user), limit)
    except CacheUnavailable:
        response = error_response(
            503, "rate_limit_unavailable", "Requests cannot be counted right now; retry in a few seconds."
        )
        response["Retry-After"] = str(max(1, math.ceil(conf.CACHE_COOLDOWN)))
        return response
    if wait is None:
        return None
    response = error_response(429, "rate_limited", f"Too many requests; retry in {wait} seconds.")
    response["Retry-After"] = str(wait)
    return response


def unserved(exc: UnservedEnvironment) -> JsonResponse:
    """400 for a request that asks for an environment this deployment does not serve."""
    return error_response(400, "unknown_environment", str(exc))


def unavailable(exc: Exception) -> JsonResponse:
    """503 for a server-side configuration problem; the log gets the reason, the client a sentence."""
    error = error_for(exc)
    if error is None or error[0] not in (400, 503):
        logger.error("Intercom identity unavailable: %s", exc)
        error = 503, "secret_unavailable", "Intercom identity is temporarily unavailable on this server."
    return error_response(*error)


def error_for(exc: Exception) -> tuple[int, str, str] | None:
    """``(status, code, detail)`` of the JSON views for an exception on the serving path, or None
    for one they do not answer (a bug, left to propagate).

    The one table of those answers: the plain JSON view, its DRF twin and the login integrations
    (which put ``{"error": code, "detail": detail}`` under ``"intercom"``) all read it, so a code
    means the same thing everywhere. Logs the reason of a server-side problem, never to the client.
    """
    if isinstance(exc, UnknownPlatform):
        return 400, "unknown_platform", str(exc)
    if isinstance(exc, UnservedEnvironment):  # the client's mistake, not the server's
        return 400, "unknown_environment", str(exc)
    if isinstance(exc, UnknownEnvironment):
        logger.error("Intercom identity unavailable: %s", exc)
        return 503, "environment_not_configured", "Intercom identity is not configured on this server."
    if isinstance(exc, MissingSecret):
        logger.error("Intercom identity unavailable: %s", exc)
        return 503, "secret_missing", "No Intercom secret is stored for this platform yet."
    if isinstance(exc, SecretUnavailable):
        logger.error("Intercom identity unavailable: %s", exc)
        return 503, "secret_unavailable", "Intercom identity is temporarily unavailable on this server."
    if isinstance(exc, (DatabaseError, InterfaceError)):  # InterfaceError: a connection closed under it
        outages.DATABASE.failed(exc, "the JSON views answer 503 database_unavailable")  # logged bounded
        return 503, "database_unavailable", "Intercom identity is temporarily unavailable."
    if isinstance(exc, ImproperlyConfigured):
        if not isinstance(exc, IdentityCallableRaised):  # that one is logged, bounded, where it was raised
            logger.error("Intercom identity unavailable: %s", exc)
        return 503, "misconfigured", "Intercom identity is not configured correctly on this server."
    if isinstance(exc, SuspiciousOperation):
        return 400, "bad_request", f"The request was refused: {type(exc).__name__}."
    return None


P = ParamSpec("P")

# What the wrapped views answer instead of raising (``error_for`` has each answer). UnservedEnvironment:
# from resolve_environment(), wherever the view calls it; InterfaceError: a connection closed under it.
ANSWERED = (UnservedEnvironment, DatabaseError, InterfaceError, ImproperlyConfigured, SuspiciousOperation)


@overload
def json_errors(
    view: Callable[P, Coroutine[Any, Any, JsonResponse]],
) -> Callable[P, Coroutine[Any, Any, JsonResponse]]: ...


@overload
def json_errors(view: Callable[P, JsonResponse]) -> Callable[P, JsonResponse]: ...


def json_errors(view: Callable[P, Any]) -> Callable[P, Any]:
    """What would otherwise be an HTML error page is a JSON answer (``error_for``): a database that
    is down or a misconfiguration is a 503, a request Django finds suspicious (too many fields) a 400.

    Wraps a sync view in a sync function and an ``async def`` view in a coroutine function, so
    neither costs Django a thread hop to adapt it.
    """
    if iscoroutinefunction(view):

        @wraps(view)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> JsonResponse:
            try:
                response: JsonResponse = await view(*args, **kwargs)
            except ANSWERED as exc:
                return _answer(exc)
            outages.DATABASE.available()
            return response

        return async_wrapper

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> JsonResponse:
        try:
            response: JsonResponse = view(*args, **kwargs)
        except ANSWERED as exc:
            return _answer(exc)
        outages.DATABASE.available()
        return response

    return wrapper


def _answer(exc: Exception) -> JsonResponse:
    """The JSON answer to one of ``ANSWERED`` raised by a view."""
    error = error_for(exc)
    assert error is not None  # noqa: S101 - every one of these has its answer
    return error_response(*error)


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

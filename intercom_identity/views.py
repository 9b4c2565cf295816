"""JSON endpoint that hands the signed-in user their Intercom identity (plain Django, no DRF)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from .conf import conf
from .exceptions import SecretUnavailable, UnknownEnvironment, UnknownPlatform
from .services import identity_payload

logger = logging.getLogger(__name__)

ALLOWED_METHODS = ("GET", "HEAD")


def error_response(status: int, code: str, detail: str) -> JsonResponse:
    """Every error of the app's endpoints has this shape: ``{"error": code, "detail": sentence}``."""
    return JsonResponse({"error": code, "detail": detail}, status=status)


@never_cache
def user_hash(request: HttpRequest) -> JsonResponse:
    """``GET ?platform=ios|android|web``: the identity payload of the authenticated user."""
    if request.method not in ALLOWED_METHODS:
        response = error_response(405, "method_not_allowed", f"{request.method} is not allowed here; use GET.")
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response

    user = conf.AUTHENTICATE(request)
    if user is None:
        return error_response(401, "not_authenticated", "Sign in to get an Intercom identity.")

    platform = request.GET.get("platform")
    if not platform:
        return error_response(
            400, "missing_platform", "Name the platform: ?platform=ios, ?platform=android or ?platform=web."
        )
    try:
        return JsonResponse(identity_payload(user, platform))
    except UnknownPlatform as exc:
        return error_response(400, "unknown_platform", str(exc))
    except UnknownEnvironment as exc:
        logger.error("Intercom identity unavailable: %s", exc)
        return error_response(503, "environment_not_configured", "Intercom identity is not configured on this server.")
    except SecretUnavailable as exc:
        logger.error("Intercom identity unavailable: %s", exc)
        return error_response(503, "secret_unavailable", "Intercom identity is temporarily unavailable on this server.")

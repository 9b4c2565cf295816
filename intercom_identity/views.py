"""JSON endpoint that hands the signed-in user their Intercom identity (plain Django, no DRF)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from . import outages
from .activity import record_client
from .conf import conf
from .exceptions import InvalidCredentialInput, MissingSecret, SecretUnavailable, UnknownEnvironment, UnknownPlatform
from .models import RolloutPhase
from .ratelimit import retry_after
from .services import get_environment, identity_payload, verify
from .verification import emulator_response

logger = logging.getLogger(__name__)

ALLOWED_METHODS = ("GET", "HEAD")
MAX_FIELD_LENGTH = 16_384
VERIFY_FIELDS = ("user_id", "email", "user_hash", "intercom_user_jwt")


def error_response(status: int, code: str, detail: str) -> JsonResponse:
    """Every error of the app's endpoints has this shape: ``{"error": code, "detail": sentence}``."""
    return JsonResponse({"error": code, "detail": detail}, status=status)


def method_not_allowed(request: HttpRequest, allowed: tuple[str, ...]) -> JsonResponse:
    response = error_response(
        405, "method_not_allowed", f"{request.method} is not allowed here; use {' or '.join(allowed)}."
    )
    response["Allow"] = ", ".join(allowed)
    return response


def rate_limited(request: HttpRequest, endpoint: str, limit: int, user: Any = None) -> JsonResponse | None:
    """429 JSON with ``Retry-After`` when the client address, or the user, is over ``limit`` a minute."""
    buckets = [f"{endpoint}:addr:{request.META.get('REMOTE_ADDR', '')}"]
    if user is not None and getattr(user, "pk", None) is not None:
        buckets.append(f"{endpoint}:user:{user.pk}")
    waits = [wait for bucket in buckets if (wait := retry_after(bucket, limit)) is not None]
    if not waits:
        return None
    response = error_response(429, "rate_limited", f"Too many requests; retry in {max(waits)} seconds.")
    response["Retry-After"] = str(max(waits))
    return response


def unavailable(exc: Exception) -> JsonResponse:
    """503 for a server-side configuration problem; the log gets the reason, the client a sentence."""
    logger.error("Intercom identity unavailable: %s", exc)
    if isinstance(exc, UnknownEnvironment):
        return error_response(503, "environment_not_configured", "Intercom identity is not configured on this server.")
    if isinstance(exc, MissingSecret):
        return error_response(503, "secret_missing", "No Intercom secret is stored for this platform yet.")
    return error_response(503, "secret_unavailable", "Intercom identity is temporarily unavailable on this server.")


def json_errors(view: Callable[[HttpRequest], JsonResponse]) -> Callable[[HttpRequest], JsonResponse]:
    """What would otherwise be an HTML error page is a JSON answer: a database that is down or a
    misconfiguration is a 503, a request Django finds suspicious (too many fields) a 400."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        try:
            response = view(request)
        except DatabaseError as exc:
            outages.DATABASE.failed(exc, "the JSON views answer 503 database_unavailable")  # logged bounded
            return error_response(503, "database_unavailable", "Intercom identity is temporarily unavailable.")
        except ImproperlyConfigured as exc:
            logger.error("Intercom identity unavailable: %s", exc)
            return error_response(503, "misconfigured", "Intercom identity is not configured correctly on this server.")
        except SuspiciousOperation as exc:
            return error_response(400, "bad_request", f"The request was refused: {type(exc).__name__}.")
        outages.DATABASE.available()
        return response

    return wrapper


@csrf_exempt  # it only reads (GET/HEAD); without this, other methods would get the CSRF 403 page, not JSON
@never_cache
@json_errors
def user_hash(request: HttpRequest) -> JsonResponse:
    """``GET ?platform=ios|android|web``: the identity payload of the authenticated user."""
    if request.method not in ALLOWED_METHODS:
        return method_not_allowed(request, ALLOWED_METHODS)

    user = conf.AUTHENTICATE(request)
    if user is None:
        return error_response(401, "not_authenticated", "Sign in to get an Intercom identity.")
    limited = rate_limited(request, "hash", conf.HASH_RATE_LIMIT, user)
    if limited is not None:
        return limited

    platform = request.GET.get("platform")
    if not platform:
        return error_response(
            400, "missing_platform", "Name the platform: ?platform=ios, ?platform=android or ?platform=web."
        )
    try:
        payload = identity_payload(user, platform)
    except UnknownPlatform as exc:
        return error_response(400, "unknown_platform", str(exc))
    except (UnknownEnvironment, SecretUnavailable) as exc:
        return unavailable(exc)
    sent = payload["user_hash"] is not None or payload["intercom_user_jwt"] is not None
    record_client(user, platform, request.headers.get("X-App-Version"), sent_credential=sent)
    return JsonResponse(payload)


def read_body(request: HttpRequest) -> bytes | JsonResponse:
    """The request body, or the JSON error for one Django refuses to read (too large, bad length)."""
    try:
        return request.body
    except RequestDataTooBig:
        return error_response(413, "body_too_large", "The body is larger than this server accepts.")
    except ValueError:  # a Content-Length that is not a number
        return error_response(400, "invalid_body", "The Content-Length header is not a number.")


def parse_verify_body(body: bytes) -> dict[str, Any] | JsonResponse:
    """The verification request's fields, or the 400 response that says what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return error_response(400, "invalid_json", "The body must be a JSON object.")
    if not isinstance(data, dict):
        return error_response(400, "invalid_body", "The body must be a JSON object.")
    platform = data.get("platform")
    if not isinstance(platform, str) or not platform:
        return error_response(400, "missing_platform", 'Name the platform: "ios", "android" or "web".')
    fields: dict[str, Any] = {"platform": platform}
    for name in VERIFY_FIELDS:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name == "user_id":
            value = str(value)
        if value is not None and not isinstance(value, str):
            return error_response(400, "invalid_field", f"{name} must be a string.")
        if value is not None and len(value) > MAX_FIELD_LENGTH:
            return error_response(400, "invalid_field", f"{name} is longer than {MAX_FIELD_LENGTH} characters.")
        fields[name] = value
    return fields


@csrf_exempt  # apps call it with JSON and no cookies; it changes nothing
@never_cache
@json_errors
def verify_credential(request: HttpRequest) -> JsonResponse:
    """``POST {"platform", "user_id"?, "email"?, "user_hash"?, "intercom_user_jwt"?}``: Intercom's verdict."""
    try:
        environment = get_environment()
    except UnknownEnvironment as exc:
        return unavailable(exc)
    if environment.is_production and not conf.VERIFY_IN_PRODUCTION:
        return error_response(404, "not_found", "The verification emulator is off in production.")
    if request.method != "POST":
        return method_not_allowed(request, ("POST",))
    limited = rate_limited(request, "verify", conf.VERIFY_RATE_LIMIT, conf.AUTHENTICATE(request))
    if limited is not None:
        return limited
    body = read_body(request)
    if isinstance(body, JsonResponse):
        return body
    fields = parse_verify_body(body)
    if isinstance(fields, JsonResponse):
        return fields
    try:
        result, config = verify(
            fields["platform"],
            environment,
            user_id=fields["user_id"],
            email=fields["email"],
            user_hash=fields["user_hash"],
            token=fields["intercom_user_jwt"],
        )
    except UnknownPlatform as exc:
        return error_response(400, "unknown_platform", str(exc))
    except InvalidCredentialInput as exc:
        return error_response(400, "invalid_field", str(exc))
    except SecretUnavailable as exc:
        return unavailable(exc)
    status, response_body = emulator_response(
        result, platform=config.platform, enforced=config.phase == RolloutPhase.ENFORCED
    )
    return JsonResponse(response_body, status=status)

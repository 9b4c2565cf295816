"""The app's two JSON endpoints (plain Django, no DRF): the signed-in user's identity, and the
verification emulator; each as a sync view (``urls``, WSGI) and an async one (``urls_async``, ASGI)
sharing everything but the awaiting."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from intercom_identity import http
from intercom_identity.conf import conf
from intercom_identity.credentials.payload import aserve_identity, serve_identity
from intercom_identity.credentials.users import aauthenticate, authenticate
from intercom_identity.exceptions import InvalidCredentialInput, SecretUnavailable, UnknownEnvironment, UnknownPlatform
from intercom_identity.models import RolloutPhase
from intercom_identity.resolvers import resolve_environment
from intercom_identity.selectors import get_environment
from intercom_identity.validators import MAX_CREDENTIAL_FIELD_LENGTH

ALLOWED_METHODS = ("GET", "HEAD")
NOT_AUTHENTICATED = "Sign in to get an Intercom identity."  # the 401's detail, wherever it is answered
VERIFY_FIELDS = ("user_id", "email", "user_hash", "intercom_user_jwt")


def requested_platform(request: HttpRequest) -> str | None:
    """The platform a request names: ``?platform=`` first, else the ``X-Intercom-Platform`` header
    (what a mobile app's HTTP client adds to every call, the SDK's JWT provider included)."""
    return request.GET.get("platform") or request.headers.get("X-Intercom-Platform") or None


@http.json_errors
def identity_response(request: HttpRequest, user: Any) -> JsonResponse:
    """The JSON view's answer for ``user`` (None: nobody signed in), whoever authenticated them.

    The one core of the plain view and of ``contrib.rest_framework.IntercomIdentityView``: the
    401, the rate limit, the platform, the payload and the error mapping (``http.error_for``).
    The caller adds ``Cache-Control: no-store`` and answers the methods it does not allow.
    ``aidentity_response`` is the same for async views, sharing every step but the awaiting.
    """
    asked = identity_request(request, user)
    if isinstance(asked, JsonResponse):
        return asked
    platform, environment = asked
    try:
        payload = serve_identity(user, platform, request.headers.get("X-App-Version"), environment=environment)
    except SERVE_ERRORS as exc:
        return serve_error(exc)
    return JsonResponse(payload)


@http.json_errors
async def aidentity_response(request: HttpRequest, user: Any) -> JsonResponse:
    """``identity_response`` for async views (``auser_hash``): the same statuses, bodies and headers,
    with no thread hop of its own while the configuration copy is current (``aserve_identity``)."""
    asked = identity_request(request, user)
    if isinstance(asked, JsonResponse):
        return asked
    platform, environment = asked
    try:
        payload = await aserve_identity(user, platform, request.headers.get("X-App-Version"), environment=environment)
    except SERVE_ERRORS as exc:
        return serve_error(exc)
    return JsonResponse(payload)


def identity_request(request: HttpRequest, user: Any) -> tuple[str, str] | JsonResponse:
    """The platform asked for (``requested_platform``) and the environment the request is served
    from, or the answer when there is none to serve: 401 for nobody signed in, 429 over the rate
    limit, 400 without a platform. The rate limit is counted in the cache (called directly from
    async views too: one round trip, shorter than a thread hop)."""
    if user is None:
        return http.error_response(401, "not_authenticated", NOT_AUTHENTICATED)
    environment = resolve_environment(request)  # UnservedEnvironment: json_errors answers 400
    limited = http.rate_limited(request, "hash", conf.HASH_RATE_LIMIT, user, environment=environment)
    if limited is not None:
        return limited
    platform = requested_platform(request)
    if not platform:
        return http.error_response(
            400, "missing_platform", "Name the platform: ?platform=ios, ?platform=android or ?platform=web."
        )
    return platform, environment


# What serving the payload may raise that the JSON views answer (``http.error_for``'s table).
SERVE_ERRORS = (UnknownPlatform, UnknownEnvironment, SecretUnavailable)


def serve_error(exc: Exception) -> JsonResponse:
    """The answer when ``serve_identity`` or ``aserve_identity`` raises one of ``SERVE_ERRORS``."""
    error = http.error_for(exc)
    assert error is not None  # noqa: S101 - each of these has its answer
    return http.error_response(*error)


@csrf_exempt  # it only reads (GET/HEAD); without this, other methods would get the CSRF 403 page, not JSON
@never_cache
@http.json_errors
def user_hash(request: HttpRequest) -> JsonResponse:
    """``GET ?platform=ios|android|web``: the identity payload of the authenticated user."""
    if request.method not in ALLOWED_METHODS:
        return http.method_not_allowed(request, ALLOWED_METHODS)
    return identity_response(request, authenticate(request))


@csrf_exempt
@never_cache
@http.json_errors
async def auser_hash(request: HttpRequest) -> JsonResponse:
    """``user_hash`` for ASGI (``intercom_identity.urls_async``): the same statuses, bodies and
    headers, with no thread hop of its own while the configuration copy is current."""
    if request.method not in ALLOWED_METHODS:
        return http.method_not_allowed(request, ALLOWED_METHODS)
    return await aidentity_response(request, await aauthenticate(request))


def parse_verify_body(body: bytes) -> dict[str, Any] | JsonResponse:
    """The verification request's fields, or the 400 response that says what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return http.error_response(400, "invalid_json", "The body must be a JSON object.")
    if not isinstance(data, dict):
        return http.error_response(400, "invalid_body", "The body must be a JSON object.")
    platform = data.get("platform")
    if not isinstance(platform, str) or not platform:
        return http.error_response(400, "missing_platform", 'Name the platform: "ios", "android" or "web".')
    fields: dict[str, Any] = {"platform": platform}
    for name in VERIFY_FIELDS:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name == "user_id":
            value = str(value)
        if value is not None and not isinstance(value, str):
            return http.error_response(400, "invalid_field", f"{name} must be a string.")
        if value is not None and len(value) > MAX_CREDENTIAL_FIELD_LENGTH:
            return http.error_response(
                400, "invalid_field", f"{name} is longer than {MAX_CREDENTIAL_FIELD_LENGTH} characters."
            )
        fields[name] = value
    return fields


@csrf_exempt  # apps call it with JSON and no cookies; it changes nothing
@never_cache
@http.json_errors
def verify_credential(request: HttpRequest) -> JsonResponse:
    """``POST {"platform", "user_id"?, "email"?, "user_hash"?, "intercom_user_jwt"?}``: Intercom's verdict."""
    return verification(request)


@csrf_exempt
@never_cache
@http.json_errors
async def averify_credential(request: HttpRequest) -> JsonResponse:
    """``verify_credential`` for ASGI: a development tool, not a hot path, so the verification
    (database reads, the emulator) runs in one worker thread."""
    return await sync_to_async(verification)(request)


def verification(request: HttpRequest) -> JsonResponse:
    """What both verification views answer."""
    try:
        environment = get_environment(resolve_environment(request))
    except UnknownEnvironment as exc:  # unserved: 400; no such row: 503
        return http.unavailable(exc)
    # The production rule is the resolved environment's: a debug build's development workspace
    # may be checked on the production backend.
    if environment.is_production and not conf.VERIFY_IN_PRODUCTION:
        return http.error_response(404, "not_found", "The verification emulator is off in production.")
    if request.method != "POST":
        return http.method_not_allowed(request, ("POST",))
    limited = http.rate_limited(
        request, "verify", conf.VERIFY_RATE_LIMIT, authenticate(request), environment=environment.slug
    )
    if limited is not None:
        return limited
    body = http.read_body(request)
    if isinstance(body, JsonResponse):
        return body
    fields = parse_verify_body(body)
    if isinstance(fields, JsonResponse):
        return fields
    # The emulator (and PyJWT with it) loads with its first request, not with the URLconf: a worker
    # that never emulates never holds them (docs/performance.md, "A worker's memory").
    from intercom_identity.credentials.emulator import emulator_response, verify

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
        return http.error_response(400, "unknown_platform", str(exc))
    except InvalidCredentialInput as exc:
        return http.error_response(400, "invalid_field", str(exc))
    except SecretUnavailable as exc:
        return http.unavailable(exc)
    status, response_body = emulator_response(
        result, platform=config.platform, enforced=config.phase == RolloutPhase.ENFORCED
    )
    return JsonResponse(response_body, status=status)

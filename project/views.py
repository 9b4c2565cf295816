"""Demo views: a web page that boots the messenger, and a mobile login API using the helper."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from intercom_identity import (
    SecretUnavailable,
    UnknownEnvironment,
    UnknownPlatform,
    UnservedEnvironment,
    error_response,
    json_errors,
    method_not_allowed,
    rate_limited,
    record_client,
    resolve_environment,
    serve_identity,
)
from intercom_identity.http import read_body  # the demo's extras use a few private helpers too
from intercom_identity.selectors import parse_platform
from intercom_identity.validators import is_utf8_text


def favicon(request: HttpRequest) -> HttpResponse:
    """The demo's icon, for browsers that ask for ``/favicon.ico`` (the pages name it too)."""
    return HttpResponsePermanentRedirect(static("project/favicon.svg"))


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "project/home.html")


def mobile_app(request: HttpRequest) -> HttpResponse:
    """A plain HTML + JS stand-in for a mobile app: log in, get the credential, verify it."""
    return render(request, "project/mobile.html")


@csrf_exempt  # a stateless JSON API for apps: it starts no session, so there is nothing to forge
@never_cache
@json_errors
@sensitive_variables()
def mobile_login(request: HttpRequest) -> JsonResponse:
    """``POST {"username", "password", "platform", "intercom"?}`` -> the user and, when asked, their Intercom identity.

    App versions that support identity verification send ``"intercom": true`` and get the
    ``intercom`` payload to hand to the SDK; older versions do not ask, get none, and are
    still counted (with their ``X-App-Version``) so adoption covers every active user.
    A real API would also return its own token here.
    """
    if request.method != "POST":
        return method_not_allowed(request, ("POST",))
    # Password guessing: per client address (INTERCOM_IDENTITY_TRUSTED_PROXIES says which), before
    # the password hasher spends its time.
    limited = rate_limited(request, "login", getattr(settings, "LOGIN_RATE_LIMIT", 20))
    if limited is not None:
        return limited
    raw = read_body(request)
    if isinstance(raw, JsonResponse):
        return raw
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return error_response(400, "invalid_json", 'Send a JSON object: {"username", "password", "platform"}.')
    fields = ("username", "password", "platform")
    # A NUL or a lone surrogate ("\ud800" in the JSON) cannot reach the database, the password
    # hasher or the error page without raising: refuse it here like any other bad body.
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) and "\x00" not in body[k] and is_utf8_text(body[k]) for k in fields
    ):
        return error_response(400, "invalid_body", "username, password and platform are required UTF-8 strings.")
    if not isinstance(body.get("intercom", False), bool):
        return error_response(400, "invalid_body", "intercom must be true or false.")
    user = authenticate(request, username=body["username"], password=body["password"])
    if user is None:
        return error_response(401, "invalid_credentials", "Wrong username or password.")
    app_version = request.headers.get("X-App-Version")
    try:
        if body.get("intercom"):  # request=: the debug build's workspace, when served
            intercom = serve_identity(user, body["platform"], app_version, request=request)
        else:  # an old app version: counted, handed nothing
            intercom = None
            environment = resolve_environment(request)
            record_client(user, parse_platform(body["platform"]), app_version, environment=environment)
    except UnservedEnvironment as exc:
        return error_response(400, "unknown_environment", str(exc))
    except UnknownPlatform as exc:
        return error_response(400, "unknown_platform", str(exc))
    except (UnknownEnvironment, SecretUnavailable):
        return error_response(503, "intercom_unavailable", "Intercom identity is temporarily unavailable.")
    response: dict[str, Any] = {"user": {"id": user.pk, "username": user.get_username()}}
    if intercom is not None:
        response["intercom"] = intercom
    return JsonResponse(response)


@csrf_exempt  # as the app's JSON view: other methods get the JSON 405, not the CSRF page
@never_cache
def whoami(request: HttpRequest) -> JsonResponse:
    """``GET`` -> ``{"user_id": pk}`` for a signed-in user, a 401 JSON error otherwise.

    The bare authenticated JSON view the load benchmark (``bench/web.py``) compares the app's
    JSON view with: the same middleware and session authentication
    (``intercom_identity.credentials.users.default_authenticate`` reads ``request.user``), and nothing else.
    """
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request, ("GET", "HEAD"))
    if not request.user.is_authenticated:
        return error_response(401, "not_authenticated", "Sign in first.")
    return JsonResponse({"user_id": request.user.pk})


@csrf_exempt
@never_cache
async def awhoami(request: HttpRequest) -> JsonResponse:
    """``whoami`` as an async view (``project.urls_asgi``): the bare authenticated JSON view
    ``bench/asgi.py`` compares the app's async view with (``await request.auser()``, nothing else)."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request, ("GET", "HEAD"))
    user = await request.auser()
    if not user.is_authenticated:
        return error_response(401, "not_authenticated", "Sign in first.")
    return JsonResponse({"user_id": user.pk})

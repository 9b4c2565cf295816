"""Demo views: a web page that boots the messenger, and a mobile login API using the helper."""

from __future__ import annotations

import json

from django.contrib.auth import authenticate, login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from intercom_identity import identity_payload
from intercom_identity.exceptions import SecretUnavailable, UnknownEnvironment, UnknownPlatform
from intercom_identity.views import error_response


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "project/home.html")


@csrf_exempt  # a JSON API for mobile apps; a real one would use token authentication
@sensitive_post_parameters()
@never_cache
@require_POST
def mobile_login(request: HttpRequest) -> JsonResponse:
    """``POST {"username", "password", "platform"}`` -> the user and their Intercom identity."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return error_response(400, "invalid_json", 'Send a JSON object: {"username", "password", "platform"}.')
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) for k in ("username", "password", "platform")
    ):
        return error_response(400, "invalid_body", "username, password and platform are required strings.")
    user = authenticate(request, username=body["username"], password=body["password"])
    if user is None:
        return error_response(401, "invalid_credentials", "Wrong username or password.")
    try:
        intercom = identity_payload(user, body["platform"])
    except UnknownPlatform as exc:
        return error_response(400, "unknown_platform", str(exc))
    except (UnknownEnvironment, SecretUnavailable):
        return error_response(503, "intercom_unavailable", "Intercom identity is temporarily unavailable.")
    login(request, user)
    return JsonResponse({"user": {"id": user.pk, "username": user.get_username()}, "intercom": intercom})

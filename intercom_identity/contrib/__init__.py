"""Integrations with the login libraries a Django API already uses: one module per library
(``rest_framework``, ``simplejwt``, ``dj_rest_auth``, ``allauth``), each importing its library
only inside itself (``pip install "intercom-identity[<name>]"``).

``login_payload`` is what they all add to a login response, and what a recipe (djoser, knox,
a hand-written login view) calls, as ``intercom_identity.login_payload``: this module imports no
optional library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from intercom_identity import http
from intercom_identity.credentials.payload import IdentityPayload, serve_identity
from intercom_identity.views import NOT_AUTHENTICATED, requested_platform

__all__ = ["LoginError", "login_payload"]

logger = logging.getLogger("intercom_identity.contrib")

LoginError = dict[str, str]  # {"error": code, "detail": sentence}: the JSON view's error body


def login_payload(request: HttpRequest, user: Any) -> IdentityPayload | LoginError | None:
    """What a login response puts under ``"intercom"`` for ``user``, or None to add nothing.

    None when the request names no platform (``X-Intercom-Platform`` header or ``?platform=``):
    an app version that does not ask gets the login response it always got. Otherwise the JSON
    view's payload for the request's environment, with ``user`` recorded on the ``X-App-Version``
    of the request as the JSON view records it, or, when Intercom's side cannot answer (an
    unknown platform or environment, a secret that is missing or unreadable, the database down,
    no user), the JSON view's error body ``{"error": code, "detail": sentence}``: Intercom
    trouble never blocks a login.
    """
    platform = requested_platform(request)
    return None if platform is None else guarded_payload(request, platform, lambda: user)


def guarded_payload(request: HttpRequest, platform: str, find_user: Callable[[], Any]) -> IdentityPayload | LoginError:
    """``login_payload`` for a request that names ``platform``, with the user ``find_user`` returns
    (for a login library that does not hand it over: a failing lookup is answered as the payload)."""
    try:
        user = find_user()
        if user is None or not user.is_authenticated:  # the JSON view's 401 body
            return {"error": "not_authenticated", "detail": NOT_AUTHENTICATED}
        # request=: as the JSON view, the workspace the request is served from
        return serve_identity(user, platform, request.headers.get("X-App-Version"), request=request)
    except Exception as exc:
        error = http.error_for(exc)
        if error is None:  # a bug, not Intercom's trouble: logged with its traceback, the login goes on
            logger.exception("The Intercom identity of a login failed: %s.", type(exc).__name__)
            return {"error": "intercom_unavailable", "detail": "Intercom identity is temporarily unavailable."}
        _, code, detail = error
        return {"error": code, "detail": detail}

"""django-allauth headless token strategies whose login response carries ``"intercom"`` in ``meta``,
beside allauth's own tokens (``pip install "intercom-identity[allauth]"``).

::

    HEADLESS_TOKEN_STRATEGY = "intercom_identity.contrib.allauth.IntercomTokenStrategy"
    # or, with allauth's JWTs: "intercom_identity.contrib.allauth.IntercomJWTTokenStrategy"

allauth adds the payload to the response of the ``app`` client's logins (``/_allauth/app/v1/...``),
the ones a mobile app makes. See ``intercom_identity.login_payload``.
"""

from __future__ import annotations

from typing import Any

from allauth.headless.tokens.strategies.base import AbstractTokenStrategy
from allauth.headless.tokens.strategies.jwt.strategy import JWTTokenStrategy
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from django.http import HttpRequest

from intercom_identity.contrib import login_payload

__all__ = ["IntercomJWTTokenStrategy", "IntercomTokenMixin", "IntercomTokenStrategy"]


class IntercomTokenMixin(AbstractTokenStrategy):
    """Adds ``"intercom"`` to the payload allauth merges into a login response's ``meta``:
    put it first in the bases of your own strategy."""

    def create_access_token_payload(self, request: HttpRequest) -> dict[str, Any] | None:
        payload: dict[str, Any] | None = super().create_access_token_payload(request)
        intercom = login_payload(request, request.user)
        if intercom is None:
            return payload
        return {**(payload or {}), "intercom": intercom}


class IntercomTokenStrategy(IntercomTokenMixin, SessionTokenStrategy):
    """allauth's default strategy (session tokens), plus ``"intercom"``."""


class IntercomJWTTokenStrategy(IntercomTokenMixin, JWTTokenStrategy):
    """allauth's JWT strategy (``access_token`` and ``refresh_token``), plus ``"intercom"``."""

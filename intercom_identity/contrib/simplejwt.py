"""SimpleJWT's login and refresh serializers, plus ``"intercom"`` (``pip install "intercom-identity[simplejwt]"``).

Set them as ``SIMPLE_JWT["TOKEN_OBTAIN_SERIALIZER"]`` and ``["TOKEN_REFRESH_SERIALIZER"]``
(docs/login-stacks.md); ``"intercom"`` is ``intercom_identity.login_payload``'s.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from intercom_identity.contrib import guarded_payload
from intercom_identity.contrib.rest_framework import with_intercom
from intercom_identity.views import requested_platform

__all__ = ["TokenObtainPairSerializer", "TokenRefreshSerializer"]


class TokenObtainPairSerializer(serializers.TokenObtainPairSerializer):
    """SimpleJWT's ``{"refresh", "access"}``, plus ``"intercom"`` when the request names a platform."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = super().validate(attrs)
        return with_intercom(data, self.context.get("request"), self.user)  # type: ignore[no-any-return]


class TokenRefreshSerializer(serializers.TokenRefreshSerializer):
    """SimpleJWT's ``{"access"}`` (and ``"refresh"`` when rotating), plus a fresh ``"intercom"``:
    an app that refreshes its API token gets a fresh Messenger JWT with it."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            data: dict[str, Any] = super().validate(attrs)
        except ObjectDoesNotExist:
            # SimpleJWT 5.4 and 5.5 check the token's user with .get(): a deleted user raised instead
            # of its 401 (fixed after 5.5.1). Answered as SimpleJWT now does.
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account") from None
        request = self.context.get("request")
        platform = None if request is None else requested_platform(request)
        if platform is None:
            return data  # no platform: no user to look up
        # SimpleJWT keeps the user it checked to itself (reimplementing its checks would drop those
        # it adds release by release): one lookup of ours, answered like the payload when it fails.
        data["intercom"] = guarded_payload(request, platform, lambda: token_user(data["access"]))
        return data


def token_user(access: str) -> Any:
    """The user an access token was made for (one query); None when there is none any more."""
    token = AccessToken(access)  # type: ignore[arg-type]  # annotated as a Token, it takes the encoded one
    user_id = token.payload.get(api_settings.USER_ID_CLAIM)
    return get_user_model()._default_manager.filter(**{api_settings.USER_ID_FIELD: user_id}).first()

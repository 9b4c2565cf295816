"""SimpleJWT's login and refresh serializers, plus ``"intercom"`` (``pip install "intercom-identity[simplejwt]"``).

::

    SIMPLE_JWT = {
        "TOKEN_OBTAIN_SERIALIZER": "intercom_identity.contrib.simplejwt.TokenObtainPairSerializer",
        "TOKEN_REFRESH_SERIALIZER": "intercom_identity.contrib.simplejwt.TokenRefreshSerializer",
    }

A request naming a platform (``X-Intercom-Platform: ios``) gets the JSON view's payload under
``"intercom"``; a refresh hands out a fresh Intercom JWT too (an app that refreshes its API token
keeps its Messenger JWT as fresh). See ``intercom_identity.contrib.login_payload``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework_simplejwt import serializers
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from intercom_identity.contrib.rest_framework import with_intercom
from intercom_identity.views import requested_platform

__all__ = ["TokenObtainPairSerializer", "TokenRefreshSerializer"]


class TokenObtainPairSerializer(serializers.TokenObtainPairSerializer):
    """SimpleJWT's ``{"refresh", "access"}``, plus ``"intercom"`` when the request names a platform."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = super().validate(attrs)
        return with_intercom(data, self.context.get("request"), self.user)  # type: ignore[no-any-return]


class TokenRefreshSerializer(serializers.TokenRefreshSerializer):
    """SimpleJWT's ``{"access"}`` (and ``"refresh"`` when rotating), plus a fresh ``"intercom"``."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = super().validate(attrs)
        request = self.context.get("request")
        if request is None or requested_platform(request) is None:
            return data  # no platform: no user to look up
        user_id = AccessToken(data["access"]).payload.get(api_settings.USER_ID_CLAIM)
        user = get_user_model()._default_manager.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        return with_intercom(data, request, user)  # type: ignore[no-any-return]

"""dj-rest-auth's login response serializers, plus ``"intercom"`` (``pip install "intercom-identity[dj_rest_auth]"``).

::

    REST_AUTH = {
        "JWT_SERIALIZER": "intercom_identity.contrib.dj_rest_auth.JWTSerializer",  # USE_JWT = True
        "JWT_SERIALIZER_WITH_EXPIRATION": "intercom_identity.contrib.dj_rest_auth.JWTSerializerWithExpiration",
        "TOKEN_SERIALIZER": "intercom_identity.contrib.dj_rest_auth.TokenSerializer",  # token authentication
    }

See ``intercom_identity.login_payload`` for what ``"intercom"`` holds.
"""

from __future__ import annotations

from dj_rest_auth import serializers

from intercom_identity.contrib.rest_framework import IntercomLoginMixin

__all__ = ["JWTSerializer", "JWTSerializerWithExpiration", "TokenSerializer"]


class JWTSerializer(IntercomLoginMixin, serializers.JWTSerializer):
    """``{"access", "refresh", "user"}``, plus ``"intercom"`` when the request names a platform."""


class JWTSerializerWithExpiration(IntercomLoginMixin, serializers.JWTSerializerWithExpiration):
    """The same with ``access_expiration`` and ``refresh_expiration`` (``JWT_AUTH_RETURN_EXPIRATION``)."""


class TokenSerializer(IntercomLoginMixin, serializers.TokenSerializer):
    """``{"key"}``, plus ``"intercom"`` when the request names a platform."""

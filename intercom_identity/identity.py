"""Who the user is, as Intercom sees them: the defaults behind the pluggable
``INTERCOM_IDENTITY_USER_ID``, ``INTERCOM_IDENTITY_USER_EMAIL`` and
``INTERCOM_IDENTITY_AUTHENTICATE`` settings, and the one function that applies them."""

from __future__ import annotations

import inspect
import logging
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest

from .conf import conf

logger = logging.getLogger(__name__)


def default_user_id(user: Any) -> str | None:
    """``str(user.pk)``: the primary key is stable, unlike usernames and emails."""
    return None if user.pk is None else str(user.pk)


def default_user_email(user: Any) -> str | None:
    """The user's email field (whatever the user model names it), or None when blank."""
    field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return getattr(user, field, None) or None


def default_authenticate(request: HttpRequest) -> Any:
    """``request.user`` when it is an authenticated user (session or any auth middleware)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def user_identity(user: Any) -> tuple[str | None, str | None]:
    """``(user_id, email)`` for a user, each None when absent; ``(None, None)`` for a visitor."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None, None
    user_id = conf.USER_ID(user)
    email = conf.USER_EMAIL(user)
    return (
        None if user_id is None or user_id == "" else str(user_id),
        email or None,
    )


def signed_claims(user: Any, email: str | None) -> dict[str, Any]:
    """The claims named in ``INTERCOM_IDENTITY_JWT_SIGNED_FIELDS`` for a JWT.

    ``email`` is the value of ``INTERCOM_IDENTITY_USER_EMAIL``; any other name is read from
    the user (called when it is a method). ``user_id`` is always signed and not repeated here.
    """
    claims: dict[str, Any] = {}
    for name in conf.JWT_SIGNED_FIELDS:
        if name == "user_id":
            continue
        value = email if name == "email" else getattr(user, name, None)
        value = value() if inspect.ismethod(value) else value
        if isinstance(value, datetime):
            value = int(value.timestamp())  # JWT dates are seconds since 1970
        elif isinstance(value, date):
            value = value.isoformat()
        if value is not None and not isinstance(value, (str, int, float, bool)):
            logger.error("JWT claim %s left out: a %s is not a JSON value.", name, type(value).__name__)
            continue
        claims[name] = value
    return claims

"""``{% load intercom_identity %}{% intercom_settings %}``: boots the web messenger."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from ..messenger import intercom_settings_script, messenger_settings

register = template.Library()


@register.simple_tag(takes_context=True)
def intercom_settings(context: template.Context, **extra: Any) -> SafeString:
    """Render ``window.intercomSettings`` for ``request.user``; keyword arguments add settings."""
    request = context.get("request")
    user = getattr(request, "user", None)
    settings = messenger_settings(user, extra)
    if settings is None:
        return SafeString("")
    nonce = context.get("csp_nonce") or getattr(request, "csp_nonce", None)
    return intercom_settings_script(settings, nonce=str(nonce) if nonce else None)

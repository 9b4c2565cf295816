"""``{% load intercom_identity %}{% intercom_settings %}``: boots the web messenger."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from ..web import intercom_settings_script, messenger_settings

register = template.Library()


@register.simple_tag(takes_context=True)
def intercom_settings(context: template.Context, **extra: Any) -> SafeString:
    """Render ``window.intercomSettings`` for ``request.user``; keyword arguments add settings."""
    request = context.get("request")
    user = getattr(request, "user", None)
    settings = messenger_settings(user, extra)
    if settings is None:
        return SafeString("")
    # Django 6's nonce is lazy and falsy until first read: test for None, and str() generates it.
    nonce = context.get("csp_nonce")
    if nonce is None:
        nonce = getattr(request, "csp_nonce", None)  # django-csp
    return intercom_settings_script(settings, nonce=str(nonce) if nonce is not None else None)

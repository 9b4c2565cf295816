"""``{% load intercom_identity %}``: ``{% intercom_settings %}`` renders the messenger's settings,
``{% intercom_messenger %}`` the settings, Intercom's loader and the session script."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from intercom_identity.messenger.intercom_settings import intercom_settings_script, messenger_settings
from intercom_identity.messenger.tag import mark_rendered, messenger_html, prepared_config

register = template.Library()


def csp_nonce(context: template.Context) -> str | None:
    """The request's CSP nonce: Django 6's ``csp_nonce`` context variable, or django-csp's
    ``request.csp_nonce``.

    Django 6's nonce is lazy and *falsy until first read*: it is tested for None, and ``str()``
    generates it (the middleware then puts the same value in the header).
    """
    nonce = context.get("csp_nonce")
    if nonce is None:
        nonce = getattr(context.get("request"), "csp_nonce", None)
    return str(nonce) if nonce is not None else None


@register.simple_tag(takes_context=True)
def intercom_settings(context: template.Context, **extra: Any) -> SafeString:
    """Render ``window.intercomSettings`` for ``request.user``; keyword arguments add settings."""
    request = context.get("request")
    user = getattr(request, "user", None)
    settings = messenger_settings(user, extra, request=request, config=prepared_config(request))
    if settings is None:
        return SafeString("")
    mark_rendered(request, user, settings)
    return intercom_settings_script(settings, nonce=csp_nonce(context))


@register.simple_tag(takes_context=True)
def intercom_messenger(context: template.Context, **extra: Any) -> SafeString:
    """Render the settings (keyword arguments as for ``intercom_settings``), Intercom's loader
    for the environment's app id and region, and the shutdown/refresh script."""
    return messenger_html(context.get("request"), extra, nonce=csp_nonce(context))

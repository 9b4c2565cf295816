"""Server-side messenger shutdown: on the response of any request that ends with a different
user than it started with (logout, login as someone else, a flushed session), Intercom's cookies
are expired. A visitor who signs in keeps them (Intercom merges the conversations)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.http.request import split_domain_port

from intercom_identity.conf import conf
from intercom_identity.exceptions import UnservedEnvironment
from intercom_identity.messenger.cookies import cookie_domains, expired_cookie, messenger_cookie_names
from intercom_identity.messenger.tag import current_workspace
from intercom_identity.resolvers import resolve_environment

logger = logging.getLogger(__name__)


class MessengerSessionMiddleware:
    """Expire ``intercom-session-<app_id>`` and ``intercom-id-<app_id>`` when the user changes.

    Place it after ``SessionMiddleware`` (after ``AuthenticationMiddleware`` is best).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not hasattr(request, "session"):
            raise ImproperlyConfigured(
                "intercom_identity.middleware.MessengerSessionMiddleware needs "
                "django.contrib.sessions.middleware.SessionMiddleware before it in MIDDLEWARE."
            )
        before = None
        # Without a session cookie nobody is signed in yet (and reading would create a session).
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            try:
                before = session_user(request)
            except Exception:
                # The session store is down: the view meets the same error where it can answer
                # it (the JSON view with a 503). Nobody signs in or out without it anyway.
                logger.debug("Session unreadable: Intercom cookies left as they are.", exc_info=True)
        response = self.get_response(request)
        if before is not None and session_user(request) != before:
            expire_messenger_cookies(request, response)
        return response


def session_user(request: HttpRequest) -> str | None:
    """The primary key of the session's user, as stored, or None.

    Reading does not count as the request using the session: ``SessionMiddleware`` would
    otherwise add ``Vary: Cookie`` to every response because of this middleware alone.
    """
    session = request.session
    accessed = session.accessed
    try:
        value = session.get(SESSION_KEY)
    finally:
        session.accessed = accessed
    return None if value is None else str(value)


def expire_messenger_cookies(request: HttpRequest, response: HttpResponseBase) -> None:
    """Add the ``Set-Cookie`` headers that expire the messenger's session on ``response``."""
    try:
        environment = resolve_environment(request)
    except (UnservedEnvironment, DisallowedHost):  # no messenger was booted for it: no cookies of ours
        return
    workspace = current_workspace(environment)
    if workspace is None:
        logger.error("Intercom messenger cookies not expired: the environment's app id cannot be read.")
        return
    names = messenger_cookie_names(workspace[0])
    if not names:
        if workspace[0]:
            logger.warning("Intercom messenger cookies not expired: the app id is not a cookie name.")
        return
    try:
        host = request.get_host()
    except DisallowedHost:
        host = "localhost"  # host-only expiry: no parent domain of an unknown host is trusted
    try:
        configured = conf.COOKIE_DOMAIN
    except ImproperlyConfigured as exc:  # system check E017 says so too
        logger.error("%s", exc)
        configured = None
    domains = cookie_domains(split_domain_port(host)[0] or "localhost", configured)
    secure = request.is_secure()
    for name in names:
        for index, domain in enumerate(domains):
            # One name, several domains: a SimpleCookie holds one cookie per key, so each
            # further domain is kept under its own key (the Morsel keeps the real name).
            key = name if index == 0 else f"{name}; Domain={domain}"
            response.cookies[key] = expired_cookie(name, domain, secure=secure)

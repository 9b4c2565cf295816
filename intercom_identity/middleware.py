"""Server-side messenger shutdown: on the response of any request that ends with a different
user than it started with (logout, login as someone else, a flushed session), and on the first
page that renders the messenger for another identity than the last one this browser was shown
(a small signed cookie remembers it: no browser storage needed), Intercom's cookies are expired.
A visitor who signs in keeps them (Intercom merges the conversations). A response that carries a
credential (the tags mark the request) is ``Cache-Control: private, no-store``.

The middleware is sync- and async-capable: in an async stack it awaits the session (Django's
async session API) and costs no thread hop of its own."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.http.request import split_domain_port
from django.utils.cache import patch_cache_control

from intercom_identity.conf import conf
from intercom_identity.exceptions import UnservedEnvironment
from intercom_identity.messenger.cookies import (
    MARKER_COOKIE,
    MARKER_COOKIE_AGE,
    MARKER_RE,
    cookie_domains,
    expired_cookie,
    messenger_cookie_names,
)
from intercom_identity.messenger.tag import acurrent_workspace, current_workspace, rendered_messenger
from intercom_identity.resolvers import resolve_environment

logger = logging.getLogger(__name__)


class MessengerSessionMiddleware:
    """Expire ``intercom-session-<app_id>`` and ``intercom-id-<app_id>`` when the user changes.

    Place it after ``SessionMiddleware`` and ``AuthenticationMiddleware`` (system checks E033
    and E034 say so at start-up).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # Django sees a coroutine function and awaits __call__ without adapting it.
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        before = None
        if signed_in_before(request):
            try:
                before = session_user(request)
            except Exception:
                # The session store is down: the view meets the same error where it can answer
                # it (the JSON view with a 503). Nobody signs in or out without it anyway.
                logger.debug("Session unreadable: Intercom cookies left as they are.", exc_info=True)
        response = self.get_response(request)
        changed = before is not None and session_user(request) != before
        if finish(request, response, user_changed=changed):
            expire_messenger_cookies(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        before = None
        if signed_in_before(request):
            try:
                before = await asession_user(request)
            except Exception:
                logger.debug("Session unreadable: Intercom cookies left as they are.", exc_info=True)
        response = await get_response(request)
        changed = before is not None and await asession_user(request) != before
        if finish(request, response, user_changed=changed):
            environment = messenger_environment(request)
            if environment is not None:
                # Never current_workspace() here: a sync read in the event loop would raise.
                expire_workspace_cookies(request, response, await acurrent_workspace(environment))
        return response


def signed_in_before(request: HttpRequest) -> bool:
    """Whether someone may be signed in: without a session cookie nobody is yet (and reading
    would create a session); without ``SessionMiddleware`` (system check E033) nobody can be."""
    return hasattr(request, "session") and settings.SESSION_COOKIE_NAME in request.COOKIES


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


async def asession_user(request: HttpRequest) -> str | None:
    """``session_user`` through Django's async session API."""
    session = request.session
    accessed = session.accessed
    try:
        value = await session.aget(SESSION_KEY)
    finally:
        session.accessed = accessed
    return None if value is None else str(value)


def finish(request: HttpRequest, response: HttpResponseBase, *, user_changed: bool) -> bool:
    """What both modes do to the response once the view answered (no I/O: the same in both);
    whether the messenger's cookies must be expired."""
    rendered = rendered_messenger(request)
    if rendered is not None and rendered.credential:
        # A page cache (or a shared proxy) must not hand one user's credential to another.
        patch_cache_control(response, private=True, no_store=True)
    previous = _marker_cookie(request)
    switched = rendered is not None and bool(previous) and previous != rendered.marker
    if rendered is not None:
        if previous != rendered.marker:
            response.set_cookie(
                MARKER_COOKIE,
                rendered.marker,
                max_age=MARKER_COOKIE_AGE,
                path="/",
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
    elif user_changed and previous is not None:
        # The next page that renders the messenger starts afresh (the cookies are expired now).
        response.delete_cookie(MARKER_COOKIE, path="/", samesite="Lax")
    return user_changed or switched


def _marker_cookie(request: HttpRequest) -> str | None:
    """The identity marker this browser was last shown the messenger with; None when unknown.

    Not signed again: the marker already is an HMAC keyed with ``SECRET_KEY`` (``identity_marker``),
    so no other identity's marker can be made without it, and a browser that sends a made-up one
    only expires its own messenger cookies. Anything but a marker's shape counts as unknown.
    """
    value = request.COOKIES.get(MARKER_COOKIE)
    return value if value is not None and MARKER_RE.fullmatch(value) else None


def messenger_environment(request: HttpRequest) -> str | None:
    """The environment whose messenger this request's pages boot; None when there is none."""
    try:
        return resolve_environment(request)
    except (UnservedEnvironment, DisallowedHost):  # no messenger was booted for it: no cookies of ours
        return None


def expire_messenger_cookies(request: HttpRequest, response: HttpResponseBase) -> None:
    """Expire the messenger's session of the request's environment's workspace on ``response``
    (sync code: the workspace may be read from the database)."""
    environment = messenger_environment(request)
    if environment is not None:
        expire_workspace_cookies(request, response, current_workspace(environment))


def expire_workspace_cookies(
    request: HttpRequest, response: HttpResponseBase, workspace: tuple[str, str] | None
) -> None:
    """Add the ``Set-Cookie`` headers that expire ``workspace``'s messenger session on ``response``;
    ``workspace`` None (its app id cannot be read: no row, the database down and never seen) is
    logged, and nothing is expired."""
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

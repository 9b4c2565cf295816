"""``{% intercom_messenger %}``: ``window.intercomSettings``, Intercom's loader and the session
script, each with the request's CSP nonce and the workspace region's ``api_base``."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.db import DatabaseError
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import SafeString

from intercom_identity._internal.configcache import ServingConfig, aget_serving_config, get_serving_config
from intercom_identity.conf import conf
from intercom_identity.constants import DEFAULT_REGION, messenger_api_base
from intercom_identity.credentials.hashing import select_identifier
from intercom_identity.credentials.payload import handed_out, payload_for_config
from intercom_identity.credentials.users import user_identity
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.messenger.cookies import messenger_cookie_names
from intercom_identity.messenger.intercom_settings import (
    RESERVED_KEYS,
    messenger_settings,
    page_environment,
    script_element,
    script_safe_json,
)
from intercom_identity.models import Platform
from intercom_identity.rollout.activity import arecord_page

logger = logging.getLogger("intercom_identity.loader")

SESSION_SCRIPT = Path(__file__).resolve().parent.parent / "static" / "intercom_identity" / "messenger.js"
MARKER_SALT = "intercom_identity.loader.identity_marker"

# The workspace (app id, region) each environment last served in this process: what the
# tag and the middleware fall back on while the database is unavailable.
_last_workspaces: dict[str, tuple[str, str]] = {}


def current_workspace(environment: str | None = None, config: ServingConfig | None = None) -> tuple[str, str] | None:
    """``(app_id, region)`` of ``environment`` (default: ``INTERCOM_IDENTITY_ENVIRONMENT``), from
    ``config`` or the configuration copy (no query when warm); the last ones seen when it cannot
    be read; None if never seen."""
    try:
        config = config or get_serving_config(Platform.WEB, environment)
    except (IntercomIdentityError, ImproperlyConfigured, DatabaseError):
        return _last_workspaces.get(environment or conf.ENVIRONMENT)
    workspace = _last_workspaces[config.environment] = (config.app_id, config.region)
    return workspace


async def acurrent_workspace(environment: str | None = None) -> tuple[str, str] | None:
    """``current_workspace`` for async code (a database read, when needed, in a worker thread)."""
    try:
        config = await aget_serving_config(Platform.WEB, environment)
    except (IntercomIdentityError, ImproperlyConfigured, DatabaseError):
        return _last_workspaces.get(environment or conf.ENVIRONMENT)
    return current_workspace(environment, config)


def identity_marker(user: Any) -> str:
    """A value that changes when the messenger's identity does, and tells nothing about it.

    An HMAC of the identifier Intercom verifies (keyed with ``SECRET_KEY``), so the browser
    can keep it in ``localStorage`` without keeping the user id or email; ``""`` for a visitor.
    """
    user_id, email = user_identity(user)
    selected = select_identifier(user_id=user_id, email=email)
    if selected is None:
        return ""
    identified_by, identifier = selected
    return _marker(f"{identified_by.value}:{identifier}", conf.SECRET_KEY)


@lru_cache(maxsize=512)  # a page view per signed-in user: the same marker over and over
def _marker(message: str, secret: str) -> str:
    return salted_hmac(MARKER_SALT, message, secret=secret, algorithm="sha256").hexdigest()[:32]


SESSION_SCRIPT_PATH = "intercom_identity/messenger.js"  # the static file's name (collectstatic)
BOOT_FUNCTION = "window.intercomIdentityBoot"  # what the static file defines, and the bootstrap calls


# Settings that change the script's URL: it is looked up once, then again after one of them changes.
STATIC_SETTINGS = frozenset({"STATIC_URL", "STORAGES", "STATICFILES_STORAGE", "FORCE_SCRIPT_NAME", "INSTALLED_APPS"})
_script_url: dict[str, str] = {}


def session_script_url() -> str:
    """The session script's URL from the staticfiles storage (a hashed, cacheable name with
    ``ManifestStaticFilesStorage``), looked up once per process (a third of the tag's time)."""
    url = _script_url.get(SESSION_SCRIPT_PATH)
    if url is None:
        url = _script_url[SESSION_SCRIPT_PATH] = static(SESSION_SCRIPT_PATH)
    return url


def setting_changed(setting: str) -> None:
    """``override_settings(STATIC_URL=...)``: look the script's URL up again."""
    _rendered.clear()  # SECRET_KEY (the marker), COOKIE_DOMAIN, the identity callables...
    if setting in STATIC_SETTINGS:
        _script_url.clear()


def session_script_element(*, nonce: str | None = None) -> SafeString:
    """``<script src=...>`` of the session script, with the CSP nonce when given: loaded
    synchronously, so that the bootstrap after it (and the page's own code) finds it defined."""
    attributes = f' nonce="{escape(nonce)}"' if nonce else ""
    return SafeString(f'<script src="{escape(session_script_url())}"{attributes}></script>')


def refresh_config(settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the script needs to refresh a JWT, or None when there is no JWT (or no JSON view)."""
    if "intercom_user_jwt" not in settings:
        return None
    try:
        url = reverse("intercom_identity:user-hash")
    except NoReverseMatch:
        logger.warning("Intercom JWT refresh is off: include intercom_identity.urls in the URLconf.")
        return None
    # ``now`` lets the browser measure the token's lifetime on the server's clock, not its own.
    return {"url": f"{url}?platform=web", "lifetime": conf.JWT_EXPIRY, "now": round(time.time(), 3)}


@dataclass(frozen=True)
class Rendered:
    """What a page rendered by the tags carries: the middleware acts on it (a credential makes
    the response uncacheable; another marker than the browser's last expires the messenger's
    cookies)."""

    marker: str
    credential: bool


RENDERED_ATTRIBUTE = "_intercom_identity_rendered"
CONFIG_ATTRIBUTE = "_intercom_identity_web_config"


def mark_rendered(request: Any, user: Any, settings: Mapping[str, Any]) -> str:
    """Mark ``request`` as carrying the messenger ``settings``; returns the identity marker."""
    rendered = rendered_for(user, settings)
    mark(request, rendered)
    return rendered.marker


def rendered_for(user: Any, settings: Mapping[str, Any]) -> Rendered:
    """What a page carrying the messenger ``settings`` for ``user`` carries."""
    identified = any(key in settings for key in ("user_id", "email", "intercom_user_jwt"))
    credential = settings.get("user_hash") is not None or settings.get("intercom_user_jwt") is not None
    return Rendered(identity_marker(user) if identified else "", credential)


def mark(request: Any, rendered: Rendered) -> None:
    """Put ``rendered`` on ``request`` (a credential an earlier tag of the page handed out stays)."""
    if request is None:
        return
    earlier = getattr(request, RENDERED_ATTRIBUTE, None)
    credential = rendered.credential or bool(earlier and earlier.credential)
    with contextlib.suppress(AttributeError):  # a request that takes no attributes is left alone
        setattr(request, RENDERED_ATTRIBUTE, Rendered(rendered.marker, credential))


def rendered_messenger(request: HttpRequest) -> Rendered | None:
    """What the tags rendered on this request, if anything."""
    rendered = getattr(request, RENDERED_ATTRIBUTE, None)
    return rendered if isinstance(rendered, Rendered) else None


def prepared_config(request: Any) -> ServingConfig | None:
    """The web configuration ``aprepare_messenger`` loaded for this request, if it did."""
    config = getattr(request, CONFIG_ATTRIBUTE, None)
    return config if isinstance(config, ServingConfig) else None


async def aprepare_messenger(request: HttpRequest) -> None:
    """Let an async view render ``{% intercom_messenger %}`` / ``{% intercom_settings %}``.

    Template rendering is synchronous: the tags must find the user and the configuration
    already loaded. This awaits ``request.auser()`` and puts the user on ``request.user``, and
    loads the web configuration for this request (no query while this process's copy is current).
    """
    auser = getattr(request, "auser", None)
    if auser is not None:
        request.user = await auser()
    environment = page_environment(request)  # None: not served here, the tags render nothing
    if environment is None:
        return
    with contextlib.suppress(IntercomIdentityError, ImproperlyConfigured, DatabaseError):
        # Left to the tags, which answer each of these without breaking the page.
        config = await aget_serving_config(Platform.WEB, environment)
        # The page is recorded here, where a write can be awaited (the tags record no prepared page).
        user = getattr(request, "user", None)
        await arecord_page(config, user, sent_credential=handed_out(payload_for_config(config, user)))
        setattr(request, CONFIG_ATTRIBUTE, config)


@dataclass(frozen=True)
class _Kept:
    """The nonce-free parts of one user's output under one configuration copy, and what they
    put on the request (``mark``: the middleware's marker and credential)."""

    config: Any  # the ServingConfig it was made under: a new copy (any change) is a miss
    settings_source: str
    bootstrap_source: str
    rendered: Rendered


# (user_id, email, extra items) -> _Kept, for pages that hand out a user hash (a JWT expires,
# so it is never kept). Bounded; emptied on any change of settings.
_rendered: dict[tuple[Any, ...], _Kept] = {}
MAX_RENDERED = 2048
_KEEPABLE = (str, int, float, bool, type(None))


def _memo_key(user: Any, extra: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What the output depends on beyond the configuration, or None when it cannot be kept."""
    if extra and (RESERVED_KEYS.intersection(extra) or not all(isinstance(v, _KEEPABLE) for v in extra.values())):
        return None  # warned about or dropped on every render: take the full path
    try:
        user_id, email = user_identity(user)
    # The full path logs it and renders what it can (SynchronousOnlyOperation: an async view that
    # did not call aprepare_messenger).
    except (ImproperlyConfigured, DatabaseError, SynchronousOnlyOperation):
        return None
    if user_id is None and email is None:
        return None
    return (user_id, email, tuple(sorted(extra.items())) if extra else ())


def messenger_html(request: Any, extra: Mapping[str, Any], *, nonce: str | None = None) -> SafeString:
    """The tag's output for ``request.user``; empty when the environment has no app id.

    A signed-in user's page views repeat the same settings: with a user hash (which does not
    expire) the nonce-free parts are kept per user and configuration copy, so a repeat render
    costs the identity lookup and the string assembly (what that costs: benchmark 3 of
    docs/performance.md).
    """
    user = getattr(request, "user", None)
    prepared = prepared_config(request)  # aprepare_messenger's: no configuration read here
    key = _memo_key(user, extra)
    serving = None
    if key is not None:
        environment = page_environment(request)  # resolved once per request
        if environment is None:  # not served here: no messenger (logged once)
            return SafeString("")
        key = (environment, *key)
        try:
            serving = prepared or get_serving_config(Platform.WEB, environment)
        except (IntercomIdentityError, ImproperlyConfigured, DatabaseError, SynchronousOnlyOperation):
            serving = None
        kept = _rendered.get(key)
        if kept is not None and serving is not None and kept.config is serving:
            mark(request, kept.rendered)
            return _assemble(kept.settings_source, kept.bootstrap_source, nonce)
    output = _render(request, user, extra, prepared)
    if output is None:
        return SafeString("")
    settings_source, bootstrap_source, rendered, keepable = output
    if key is not None and keepable and serving is not None:
        if len(_rendered) >= MAX_RENDERED:
            _rendered.clear()
        _rendered[key] = _Kept(serving, settings_source, bootstrap_source, rendered)
    return _assemble(settings_source, bootstrap_source, nonce)


def _assemble(settings_source: str, bootstrap_source: str, nonce: str | None) -> SafeString:
    # Inline per page: the settings and a one-line bootstrap; the script itself is the static file.
    return SafeString(
        script_element(settings_source, nonce=nonce)
        + session_script_element(nonce=nonce)
        + script_element(bootstrap_source, nonce=nonce)
    )


def _render(
    request: Any, user: Any, extra: Mapping[str, Any], config: ServingConfig | None
) -> tuple[str, str, Rendered, bool] | None:
    """The settings' and the bootstrap's sources, what they put on the request (``mark``), and
    whether they may be kept (no JWT); under ``config`` when ``aprepare_messenger`` loaded it."""
    settings = messenger_settings(user, extra, request=request, config=config)
    if settings is None or not settings.get("app_id"):
        return None
    workspace = current_workspace(page_environment(request), config)  # resolved once per request
    api_base = messenger_api_base(workspace[1] if workspace else DEFAULT_REGION)
    if api_base is not None:
        settings = {**settings, "api_base": api_base}
    try:
        cookie_domain = conf.COOKIE_DOMAIN
    except ImproperlyConfigured as exc:  # system check E017 says so too
        logger.error("%s", exc)
        cookie_domain = None
    # The identity the messenger boots with: none when the page could not produce it.
    rendered = rendered_for(user, settings)
    mark(request, rendered)
    boot = {
        "appId": settings["app_id"],
        "marker": rendered.marker,
        "cookies": messenger_cookie_names(str(settings["app_id"])),
        "cookieDomain": cookie_domain,
        "refresh": refresh_config(settings),
    }
    keepable = "user_hash" in settings and "intercom_user_jwt" not in settings
    return (
        f"window.intercomSettings = {script_safe_json(dict(settings))};",
        f"{BOOT_FUNCTION}({script_safe_json(boot)});",
        rendered,
        keepable,
    )


def forget_rendered() -> None:
    """Tests, and any change of settings: render afresh."""
    _rendered.clear()


def forget_workspaces() -> None:
    """Tests: no workspace seen yet in this process (nothing to fall back on with the database down)."""
    _last_workspaces.clear()

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

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import salted_hmac
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
    intercom_settings_script,
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
    message = f"{identified_by.value}:{identifier}"
    return salted_hmac(MARKER_SALT, message, secret=conf.SECRET_KEY, algorithm="sha256").hexdigest()[:32]


@lru_cache(maxsize=1)
def session_script_source() -> str:
    """The session script, read once: a function expression the config is applied to."""
    source = SESSION_SCRIPT.read_text("utf-8").strip()
    if "</script" in source.lower() or "<!--" in source:
        raise ImproperlyConfigured(f"{SESSION_SCRIPT} cannot be inlined in a <script> element.")
    return source


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
    identified = any(key in settings for key in ("user_id", "email", "intercom_user_jwt"))
    marker = identity_marker(user) if identified else ""
    credential = settings.get("user_hash") is not None or settings.get("intercom_user_jwt") is not None
    if request is not None:
        earlier = getattr(request, RENDERED_ATTRIBUTE, None)
        with contextlib.suppress(AttributeError):  # a request that takes no attributes is left alone
            setattr(request, RENDERED_ATTRIBUTE, Rendered(marker, credential or bool(earlier and earlier.credential)))
    return marker


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


def messenger_html(request: Any, extra: Mapping[str, Any], *, nonce: str | None = None) -> SafeString:
    """The tag's output for ``request.user``; empty when the environment has no app id."""
    user = getattr(request, "user", None)
    config = prepared_config(request)
    settings = messenger_settings(user, extra, request=request, config=config)
    if settings is None or not settings.get("app_id"):
        return SafeString("")
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
    marker = mark_rendered(request, user, settings)
    script_config = {
        "appId": settings["app_id"],
        "marker": marker,
        "cookies": messenger_cookie_names(str(settings["app_id"])),
        "cookieDomain": cookie_domain,
        "refresh": refresh_config(settings),
    }
    session = script_element(f"{session_script_source()}({script_safe_json(script_config)});", nonce=nonce)
    return SafeString(intercom_settings_script(settings, nonce=nonce) + session)

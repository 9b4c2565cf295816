"""``{% intercom_messenger %}``: ``window.intercomSettings``, Intercom's loader and the session
script, each with the request's CSP nonce and the workspace region's ``api_base``."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import SafeString

from intercom_identity._internal.configcache import get_serving_config
from intercom_identity.conf import conf
from intercom_identity.constants import DEFAULT_REGION, messenger_api_base
from intercom_identity.credentials.hashing import select_identifier
from intercom_identity.credentials.users import user_identity
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.messenger.cookies import messenger_cookie_names
from intercom_identity.messenger.intercom_settings import (
    intercom_settings_script,
    messenger_settings,
    script_element,
    script_safe_json,
)
from intercom_identity.models import Platform

logger = logging.getLogger("intercom_identity.loader")

SESSION_SCRIPT = Path(__file__).resolve().parent.parent / "static" / "intercom_identity" / "messenger.js"
MARKER_SALT = "intercom_identity.loader.identity_marker"

# The workspace (app id, region) each environment last served in this process: what the
# tag and the middleware fall back on while the database is unavailable.
_last_workspaces: dict[str, tuple[str, str]] = {}


def current_workspace() -> tuple[str, str] | None:
    """``(app_id, region)`` of the current environment, from the configuration copy (no query
    when warm); the last ones seen when it cannot be read; None if never seen."""
    try:
        config = get_serving_config(Platform.WEB)
    except (IntercomIdentityError, ImproperlyConfigured, DatabaseError):
        return _last_workspaces.get(conf.ENVIRONMENT)
    workspace = _last_workspaces[config.environment] = (config.app_id, config.region)
    return workspace


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


def messenger_html(request: Any, extra: Mapping[str, Any], *, nonce: str | None = None) -> SafeString:
    """The tag's output for ``request.user``; empty when the environment has no app id."""
    user = getattr(request, "user", None)
    settings = messenger_settings(user, extra)
    if settings is None or not settings.get("app_id"):
        return SafeString("")
    workspace = current_workspace()
    api_base = messenger_api_base(workspace[1] if workspace else DEFAULT_REGION)
    if api_base is not None:
        settings = {**settings, "api_base": api_base}
    try:
        cookie_domain = conf.COOKIE_DOMAIN
    except ImproperlyConfigured as exc:  # system check E017 says so too
        logger.error("%s", exc)
        cookie_domain = None
    identified = any(key in settings for key in ("user_id", "email", "intercom_user_jwt"))
    config = {
        "appId": settings["app_id"],
        # The identity the messenger boots with: none when the page could not produce it.
        "marker": identity_marker(user) if identified else "",
        "cookies": messenger_cookie_names(str(settings["app_id"])),
        "cookieDomain": cookie_domain,
        "refresh": refresh_config(settings),
    }
    # Inline per page: the settings and a one-line bootstrap; the script itself is the static file.
    bootstrap = script_element(f"{BOOT_FUNCTION}({script_safe_json(config)});", nonce=nonce)
    return SafeString(intercom_settings_script(settings, nonce=nonce) + session_script_element(nonce=nonce) + bootstrap)

"""The web messenger: ``window.intercomSettings`` for a user, and the boot script that
carries it as JSON that cannot escape its ``<script>`` element."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, InterfaceError
from django.utils.html import escape
from django.utils.safestring import SafeString

from intercom_identity._internal import outages
from intercom_identity._internal.configcache import ServingConfig, get_serving_config
from intercom_identity.conf import conf
from intercom_identity.credentials.payload import handed_out, payload_for_config
from intercom_identity.exceptions import IdentityCallableRaised, IntercomIdentityError, UnservedEnvironment
from intercom_identity.models import Environment, Platform
from intercom_identity.resolvers import resolve_environment
from intercom_identity.rollout.activity import record_page

logger = logging.getLogger("intercom_identity.messenger")

# The app id each environment last rendered with in this process: the fallback when the
# database is unavailable (the app id is not secret).
_last_app_ids: dict[str, str] = {}

# Unserved slugs the tags have logged in this process (logged once each, and at most this many).
_logged_unserved: set[str] = set()
MAX_LOGGED_UNSERVED = 100

# Keys the template may not set: they carry the verified identity, or (OBJECT_KEYS) rewire the
# object in a browser. In an object literal ``"__proto__": {...}`` sets the object's prototype, so
# ``intercomSettings.user_id`` would read the template's value whenever the real key is absent
# (a visitor, JWT mode, phase off); ``constructor`` and ``prototype`` are refused with it.
OBJECT_KEYS = frozenset({"__proto__", "constructor", "prototype"})
RESERVED_KEYS = frozenset({"app_id", "user_id", "email", "user_hash", "intercom_user_jwt"}) | OBJECT_KEYS
# The same prototype setter at any depth of a value: ``{"company": {"__proto__": ...}}``.
_NESTED_PROTO = '"__proto__":'

# Inside <script>, the HTML parser ends the element at "</script" and treats "<!--" specially;
# escaping <, > and & as JSON \u escapes keeps every string literal intact. U+2028/U+2029 are
# line terminators in older JavaScript engines.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}
_SCRIPT_ESCAPE_CHARS = tuple(chr(code) for code in _SCRIPT_ESCAPES)


_ENCODER = DjangoJSONEncoder(ensure_ascii=False)


def web_settings(
    user: Any, *, environment: Environment | str | None = None, config: ServingConfig | None = None
) -> dict[str, Any]:
    """``window.intercomSettings`` for the web messenger: app_id, and identity for a user.

    The page is recorded as the user's web client, with whether it was handed the credential:
    the evidence web readiness is measured on (at most one write per user and hour). Under
    ``config`` (loaded for the request by ``aprepare_messenger``, which recorded the page itself,
    awaiting any write) nothing is recorded here.
    """
    prepared = config is not None
    config = config or get_serving_config(Platform.WEB, environment)
    result: dict[str, Any] = {"app_id": config.app_id}
    payload = payload_for_config(config, user)
    if not prepared:
        record_page(config, user, sent_credential=handed_out(payload))
    identity: dict[str, Any] = {"user_id": payload["user_id"], "email": payload["email"]}
    if payload["intercom_user_jwt"] is not None:
        # user_id and the signed fields travel inside the token, not in the clear.
        identity = {key: value for key, value in identity.items() if key not in jwt_signed_keys()}
        identity["intercom_user_jwt"] = payload["intercom_user_jwt"]
    else:
        identity["user_hash"] = payload["user_hash"]
    result.update((key, value) for key, value in identity.items() if value is not None)
    return result


def jwt_signed_keys() -> frozenset[str]:
    """Settings that a JWT carries signed, and that therefore stay out of the clear settings."""
    return frozenset({"user_id", *conf.JWT_SIGNED_FIELDS})


def script_safe_json(value: Any) -> str:
    """JSON text that is safe to place verbatim inside a ``<script>`` element."""
    text = _ENCODER.encode(value)
    if any(char in text for char in _SCRIPT_ESCAPE_CHARS):
        text = text.translate(_SCRIPT_ESCAPES)
    return text


def intercom_settings_script(settings: Mapping[str, Any], *, nonce: str | None = None) -> SafeString:
    """``<script>window.intercomSettings = {...};</script>``, with a CSP nonce when given."""
    return script_element(f"window.intercomSettings = {script_safe_json(dict(settings))};", nonce=nonce)


def script_element(source: str, *, nonce: str | None = None) -> SafeString:
    """An inline ``<script>`` of trusted ``source``, with a CSP nonce when given."""
    opening = f'<script nonce="{escape(nonce)}">' if nonce else "<script>"
    return SafeString(f"{opening}{source}</script>")


def page_environment(request: Any) -> str | None:
    """The environment a page is served from (``resolve_environment``), or None when the
    resolver names one this deployment does not serve: such a page gets no messenger at all,
    never another workspace's (logged once per process and slug)."""
    try:
        return resolve_environment(request)
    except UnservedEnvironment as exc:
        if exc.slug not in _logged_unserved and len(_logged_unserved) < MAX_LOGGED_UNSERVED:
            _logged_unserved.add(exc.slug)
            logger.error("Intercom messenger not booted: %s", exc)
        return None


def forget_unserved_logs() -> None:
    """Log unserved environments afresh (settings changed: what is served may have)."""
    _logged_unserved.clear()


def messenger_settings(
    user: Any, extra: Mapping[str, Any], *, request: Any = None, config: ServingConfig | None = None
) -> dict[str, Any] | None:
    """Settings for the environment of ``request`` (None: the default environment), under
    ``config`` when given (loaded by ``aprepare_messenger``), or None when the messenger cannot
    boot at all.

    A failure to produce the identity never breaks the page: it is logged and the messenger
    boots without identity (or, without an environment, not at all).
    """
    environment = page_environment(request)
    if environment is None:
        return None
    ignored = sorted(RESERVED_KEYS.intersection(extra)) if extra else ()
    if ignored:
        logger.warning("intercom_settings: ignored reserved keys %s passed from a template.", ", ".join(ignored))
    try:
        settings = web_settings(user, environment=environment, config=config)
    except IntercomIdentityError as exc:
        logger.error("Intercom messenger booted without identity: %s", exc)
        try:
            settings = web_settings(None, environment=environment, config=config)
        except IntercomIdentityError:
            return None
    except ImproperlyConfigured as exc:
        if not isinstance(exc, IdentityCallableRaised):  # that one is logged, bounded, where it was raised
            logger.error("Intercom messenger not booted: %s", exc)
        return None
    except SynchronousOnlyOperation:
        # request.user (or a cold configuration) read from an async view: never a broken page.
        logger.error(
            "Intercom messenger not booted: rendered from an async view that did not call "
            "`await aprepare_messenger(request)` first (see docs/asgi.md)."
        )
        return None
    except (DatabaseError, InterfaceError) as exc:
        # The page must still render: boot with the app id last seen by this process, if any.
        outages.DATABASE.failed(exc, "the messenger boots without identity")
        app_id = _last_app_ids.get(environment)
        if app_id is None:
            return None
        settings = {"app_id": app_id}
    _last_app_ids[environment] = settings["app_id"]
    if not extra:
        return settings
    extras = _serializable(extra)
    if "intercom_user_jwt" in settings:
        # A signed field must not also be sent in the clear, where it could contradict the token.
        extras = {key: value for key, value in extras.items() if key not in jwt_signed_keys()}
    return {**extras, **settings}


def _serializable(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The template's extra settings that can be sent as JSON; others are dropped and logged."""
    kept = {}
    for key, value in extra.items():
        if key in RESERVED_KEYS:
            continue
        try:
            encoded = script_safe_json(value)
        except (TypeError, ValueError, RecursionError):  # RecursionError: nested deeper than the stack
            logger.error("intercom_settings: dropped %s, a %s that JSON cannot encode.", key, type(value).__name__)
            continue
        if _NESTED_PROTO in encoded:
            logger.error("intercom_settings: dropped %s, whose %r key would set a prototype.", key, "__proto__")
            continue
        kept[key] = value
    return kept

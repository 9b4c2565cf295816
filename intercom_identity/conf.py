"""The one place that reads the app's Django settings.

Each setting is read from ``django.conf.settings`` and validated on first use, then kept
until Django announces a change of settings (``setting_changed``: ``override_settings``
and pytest-django's ``settings`` fixture send it), so the hot paths pay for an attribute
lookup only, and nothing is read at import time. Malformed values raise
``ImproperlyConfigured`` (and are not kept); the system checks in ``checks.py`` read these
same properties so a bad value is reported at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from intercom_identity.constants import NAMES as PLATFORM_NAMES
from intercom_identity.validators import ENVIRONMENT_SLUG_RE
from intercom_identity.validators import validate_api_token as _validate_api_token
from intercom_identity.validators import validate_secret as _validate_secret

PREFIX = "INTERCOM_IDENTITY_"

# A cookie Domain attribute: host name labels, with or without the leading dot.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
COOKIE_DOMAIN_RE = re.compile(rf"^\.?{_LABEL}(?:\.{_LABEL})*\Z", re.IGNORECASE)

DEFAULTS: dict[str, Any] = {
    "ENVIRONMENT": "development",
    "ENCRYPTION_KEYS": (),
    "USER_ID": "intercom_identity.credentials.users.default_user_id",
    "USER_EMAIL": "intercom_identity.credentials.users.default_user_email",
    "AUTHENTICATE": "intercom_identity.credentials.users.default_authenticate",
    "JWT_EXPIRY": 3600,
    "JWT_SIGNED_FIELDS": ("email",),
    "VERIFY_IN_PRODUCTION": False,
    "VERIFY_RATE_LIMIT": 60,
    "ENFORCE_THRESHOLD": 0.95,
    "HASH_RATE_LIMIT": 120,
    "SECRETS": {},
    "CACHE_TTL": 60,
    "CACHE_COOLDOWN": 5,
    "COOKIE_DOMAIN": None,
    # Workspace truth (reading Intercom's own state through its REST API).
    "API_TOKENS": {},
    "API_BASE_URL": None,
    "WORKSPACE_STALE_HOURS": 24,
    "SENDING_EVIDENCE_SHARE": 0.5,
    "SENDING_EVIDENCE_USERS": 5,
    "MAX_NEW_VERSIONS_PER_USER": 3,
    "ACTIVITY_RETENTION_DAYS": 90,
}

MAX_CACHE_COOLDOWN = 600  # seconds: more is a unit mistake (milliseconds?) that would leave the cache unused

# The overview draws 30 days: retention may not remove any of them.
MIN_RETENTION_DAYS = 30


@lru_cache(maxsize=64)
def _import_callable(path: str) -> Callable[..., Any]:
    return import_string(path)  # type: ignore[no-any-return]


def _callable_setting(name: str) -> Callable[..., Any]:
    value = getattr(django_settings, PREFIX + name, DEFAULTS[name])
    if callable(value):
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise ImproperlyConfigured(
            f"{PREFIX}{name} must be a callable or the dotted path of one, not {type(value).__name__}."
        )
    try:
        imported = _import_callable(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{PREFIX}{name} = {value!r} cannot be imported: {exc}") from exc
    if not callable(imported):
        raise ImproperlyConfigured(f"{PREFIX}{name} = {value!r} does not name a callable.")
    return imported


def _positive_int(name: str, *, minimum: int) -> int:
    value = getattr(django_settings, PREFIX + name, DEFAULTS[name])
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ImproperlyConfigured(f"{PREFIX}{name} must be a whole number of at least {minimum}, not {value!r}.")
    return value


def _fraction(name: str, *, zero_allowed: bool) -> float:
    value = getattr(django_settings, PREFIX + name, DEFAULTS[name])
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and (0 <= value <= 1 if zero_allowed else 0 < value <= 1)):
        span = "from 0 to 1" if zero_allowed else "greater than 0 and at most 1"
        raise ImproperlyConfigured(f"{PREFIX}{name} must be a number {span}, not {value!r}.")
    return float(value)


class Settings:
    """Typed view of the ``INTERCOM_IDENTITY_*`` settings (see the README for each)."""

    @cached_property
    def ENVIRONMENT(self) -> str:
        """Slug of the environment (Intercom workspace) this process serves."""
        value = getattr(django_settings, PREFIX + "ENVIRONMENT", DEFAULTS["ENVIRONMENT"])
        if not isinstance(value, str) or not ENVIRONMENT_SLUG_RE.match(value):
            raise ImproperlyConfigured(
                f"{PREFIX}ENVIRONMENT must be an environment slug such as 'development' or "
                f"'production' (lowercase letters, digits, '-' and '_'), not {value!r}."
            )
        return value

    @cached_property
    def ENCRYPTION_KEYS(self) -> tuple[str, ...]:
        """Fernet keys; the first encrypts, all decrypt. Empty means "derive one in DEBUG"."""
        value = getattr(django_settings, PREFIX + "ENCRYPTION_KEYS", DEFAULTS["ENCRYPTION_KEYS"])
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ImproperlyConfigured(
                f"{PREFIX}ENCRYPTION_KEYS must be a list of Fernet keys (split a comma-separated "
                f"environment variable before assigning it), not {type(value).__name__}."
            )
        if not all(isinstance(key, str) and key for key in value):
            raise ImproperlyConfigured(f"{PREFIX}ENCRYPTION_KEYS must hold non-empty strings only.")
        return tuple(value)

    @cached_property
    def USER_ID(self) -> Callable[[Any], object | None]:
        """``(user) -> str | None``: the id Intercom knows the user by."""
        return _callable_setting("USER_ID")

    @cached_property
    def USER_EMAIL(self) -> Callable[[Any], str | None]:
        """``(user) -> str | None``: the email sent to Intercom."""
        return _callable_setting("USER_EMAIL")

    @cached_property
    def AUTHENTICATE(self) -> Callable[[Any], Any]:
        """``(request) -> user | None``: who is asking the JSON view for a hash."""
        return _callable_setting("AUTHENTICATE")

    @cached_property
    def JWT_EXPIRY(self) -> int:
        """Lifetime of a handed-out JWT, in seconds."""
        return _positive_int("JWT_EXPIRY", minimum=1)

    @cached_property
    def JWT_SIGNED_FIELDS(self) -> tuple[str, ...]:
        """User attributes signed into the JWT beside ``user_id`` (and kept out of clear web settings)."""
        value = getattr(django_settings, PREFIX + "JWT_SIGNED_FIELDS", DEFAULTS["JWT_SIGNED_FIELDS"])
        if (
            isinstance(value, str)
            or not isinstance(value, (list, tuple))
            or not all(isinstance(name, str) and name.isidentifier() for name in value)
        ):
            raise ImproperlyConfigured(f"{PREFIX}JWT_SIGNED_FIELDS must be a list of attribute names, e.g. ['email'].")
        if any("password" in name.lower() for name in value):
            raise ImproperlyConfigured(f"{PREFIX}JWT_SIGNED_FIELDS must not name a password: JWT claims are readable.")
        registered = sorted({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}.intersection(value))
        if registered:
            raise ImproperlyConfigured(
                f"{PREFIX}JWT_SIGNED_FIELDS must not name registered JWT claims ({', '.join(registered)})."
            )
        return tuple(value)

    @cached_property
    def VERIFY_IN_PRODUCTION(self) -> bool:
        """Whether the verification emulator also exists in a production environment."""
        value = getattr(django_settings, PREFIX + "VERIFY_IN_PRODUCTION", DEFAULTS["VERIFY_IN_PRODUCTION"])
        if not isinstance(value, bool):
            raise ImproperlyConfigured(f"{PREFIX}VERIFY_IN_PRODUCTION must be True or False.")
        return value

    @cached_property
    def VERIFY_RATE_LIMIT(self) -> int:
        """Verification requests per minute and client address; 0 turns the limit off."""
        return _positive_int("VERIFY_RATE_LIMIT", minimum=0)

    @cached_property
    def HASH_RATE_LIMIT(self) -> int:
        """JSON view requests per minute, per user and per client address; 0 turns the limit off."""
        return _positive_int("HASH_RATE_LIMIT", minimum=0)

    @cached_property
    def CACHE_TTL(self) -> int:
        """Seconds a process trusts its copy of the configuration at most; 0 turns the copies off."""
        return _positive_int("CACHE_TTL", minimum=0)

    @cached_property
    def COOKIE_DOMAIN(self) -> str | None:
        """The Domain Intercom's messenger cookies live on (e.g. ``.example.com``); None: unknown."""
        value = getattr(django_settings, PREFIX + "COOKIE_DOMAIN", DEFAULTS["COOKIE_DOMAIN"])
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > 253 or not COOKIE_DOMAIN_RE.match(value):
            raise ImproperlyConfigured(
                f"{PREFIX}COOKIE_DOMAIN must be None or the domain Intercom sets its cookies on, such as "
                f"'.example.com' (no scheme, port or path), not {value!r}."
            )
        return value

    @cached_property
    def CACHE_COOLDOWN(self) -> float:
        """Seconds a process leaves the cache alone after a cache error or time-out; 0: it tries every call."""
        value = getattr(django_settings, PREFIX + "CACHE_COOLDOWN", DEFAULTS["CACHE_COOLDOWN"])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_CACHE_COOLDOWN:
            raise ImproperlyConfigured(
                f"{PREFIX}CACHE_COOLDOWN must be a number of seconds from 0 to {MAX_CACHE_COOLDOWN}, not {value!r}."
            )
        return float(value)

    @cached_property
    def ENFORCE_THRESHOLD(self) -> float:
        """Adoption (0 to 1) needed before a platform may move to ``enforced`` without forcing."""
        return _fraction("ENFORCE_THRESHOLD", zero_allowed=True)

    @cached_property
    def SENDING_EVIDENCE_SHARE(self) -> float:
        """Share (more than 0, up to 1) of a version's active users who must have been seen
        receiving the credential on it before the version counts as sending."""
        return _fraction("SENDING_EVIDENCE_SHARE", zero_allowed=False)

    @cached_property
    def SENDING_EVIDENCE_USERS(self) -> int:
        """Distinct users who must have been seen receiving the credential on a version, at least."""
        return _positive_int("SENDING_EVIDENCE_USERS", minimum=1)

    @cached_property
    def MAX_NEW_VERSIONS_PER_USER(self) -> int:
        """Versions nobody reported before that one user may introduce per UTC day."""
        return _positive_int("MAX_NEW_VERSIONS_PER_USER", minimum=1)

    @cached_property
    def ACTIVITY_RETENTION_DAYS(self) -> int:
        """Days of activity kept; ``prune-activity`` removes older days. At least the 30 days the overview draws."""
        return _positive_int("ACTIVITY_RETENTION_DAYS", minimum=MIN_RETENTION_DAYS)

    @cached_property
    @sensitive_variables()
    def SECRETS(self) -> dict[str, dict[str, str]]:
        """Secrets supplied by settings (a vault, the environment): ``{env: {platform: secret}}``.

        They override stored secrets for the pairs they name. Validation messages name the
        pair, never the value.
        """
        value = getattr(django_settings, PREFIX + "SECRETS", DEFAULTS["SECRETS"])
        if not isinstance(value, dict):
            raise ImproperlyConfigured(f"{PREFIX}SECRETS must be a dict like {{'production': {{'ios': '...'}}}}.")
        for env, platforms in value.items():
            if not isinstance(env, str) or not ENVIRONMENT_SLUG_RE.match(env) or not isinstance(platforms, dict):
                raise ImproperlyConfigured(
                    f"{PREFIX}SECRETS: {env!r} must be an environment slug mapping platforms to secrets."
                )
            for platform, secret in platforms.items():
                if platform not in PLATFORM_NAMES:
                    raise ImproperlyConfigured(f"{PREFIX}SECRETS[{env!r}]: unknown platform {platform!r}.")
                if not isinstance(secret, str):
                    raise ImproperlyConfigured(f"{PREFIX}SECRETS[{env!r}][{platform!r}] must be a string.")
                try:
                    _validate_secret(secret)
                except ValueError as exc:
                    raise ImproperlyConfigured(f"{PREFIX}SECRETS[{env!r}][{platform!r}]: {exc}") from None
        return value

    @sensitive_variables()
    def secret_from_settings(self, environment: str, platform: str) -> str | None:
        return self.SECRETS.get(environment, {}).get(platform)

    # --- workspace truth: Intercom's REST API ------------------------------------------

    @cached_property
    @sensitive_variables()
    def API_TOKENS(self) -> dict[str, str]:
        """Intercom access tokens supplied by settings: ``{env: token}``; they win over stored ones.

        Validation messages name the environment, never the value.
        """
        value = getattr(django_settings, PREFIX + "API_TOKENS", DEFAULTS["API_TOKENS"])
        if not isinstance(value, dict):
            raise ImproperlyConfigured(f"{PREFIX}API_TOKENS must be a dict like {{'production': '...'}}.")
        for env, token in value.items():
            if not isinstance(env, str) or not ENVIRONMENT_SLUG_RE.match(env):
                raise ImproperlyConfigured(f"{PREFIX}API_TOKENS: {env!r} must be an environment slug.")
            if not isinstance(token, str):
                raise ImproperlyConfigured(f"{PREFIX}API_TOKENS[{env!r}] must be a string.")
            try:
                _validate_api_token(token)
            except ValueError as exc:
                raise ImproperlyConfigured(f"{PREFIX}API_TOKENS[{env!r}]: {exc}") from None
        return value

    @sensitive_variables()
    def api_token_from_settings(self, environment: str) -> str | None:
        return self.API_TOKENS.get(environment)

    @cached_property
    def API_BASE_URL(self) -> str | None:
        """Overrides the region's Intercom API URL (a proxy, or a local server in tests); None: the region's."""
        value = getattr(django_settings, PREFIX + "API_BASE_URL", DEFAULTS["API_BASE_URL"])
        if value is None or value == "":
            return None
        parsed = urlsplit(value) if isinstance(value, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ImproperlyConfigured(
                f"{PREFIX}API_BASE_URL must be an http(s) URL such as 'https://api.eu.intercom.io', or None."
            )
        if parsed.username or parsed.password or parsed.query or parsed.fragment:
            # Never a credential in a URL: it would be shown wherever the URL is.
            raise ImproperlyConfigured(f"{PREFIX}API_BASE_URL must not hold credentials, a query or a fragment.")
        return str(value).rstrip("/")

    @cached_property
    def WORKSPACE_STALE_HOURS(self) -> int:
        """Hours after which the last successful sync with Intercom is reported as stale (``sync_stale``)."""
        return _positive_int("WORKSPACE_STALE_HOURS", minimum=1)

    # Django's own settings stay live: Django itself assigns DEBUG directly (no signal) in tests.
    @property
    def DEBUG(self) -> bool:
        return bool(django_settings.DEBUG)

    @property
    def SECRET_KEY(self) -> str:
        return str(django_settings.SECRET_KEY)


def unknown_settings() -> list[str]:
    """Names of ``INTERCOM_IDENTITY_*`` settings this app does not know: most likely typos."""
    known = {PREFIX + name for name in DEFAULTS}
    return sorted(name for name in dir(django_settings) if name.startswith(PREFIX) and name not in known)


conf = Settings()


def forget_settings() -> None:
    """Any change may matter (DEBUG, SECRET_KEY, ours): forget every validated value."""
    vars(conf).clear()

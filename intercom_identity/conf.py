"""The app's Django settings: each ``INTERCOM_IDENTITY_*`` setting declared once (``Settings``)
and read through ``conf``, validated on first use and kept until Django announces a change.
Light on purpose (no HTTP client, no SDK): settings modules and tooling import it."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from intercom_identity.constants import NAMES as PLATFORM_NAMES
from intercom_identity.validators import ENVIRONMENT_SLUG_RE, validate_api_token, validate_secret

PREFIX = "INTERCOM_IDENTITY_"

# A cookie Domain attribute: host name labels, with or without the leading dot.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
COOKIE_DOMAIN_RE = re.compile(rf"^\.?{_LABEL}(?:\.{_LABEL})*\Z", re.IGNORECASE)
# A host name as ``request.get_host()`` gives it without the port.
HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\Z", re.IGNORECASE)

MAX_CACHE_COOLDOWN = 600  # seconds: more is a unit mistake (milliseconds?) that would leave the cache unused

# The overview draws 30 days: retention may not remove any of them.
MIN_RETENTION_DAYS = 30

# A malformed setting is always an error: ``checks.py`` turns the id into ``intercom_identity.E0xx``.
CHECK_ID_RE = re.compile(r"^E\d{3}\Z")

T = TypeVar("T")
# ``(full setting name, raw value) -> typed value``, raising ``ImproperlyConfigured`` naming the setting.
Validator = Callable[[str, Any], T]


# --- setting validators -----------------------------------------------------------------------------


def _environment(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not ENVIRONMENT_SLUG_RE.match(value):
        raise ImproperlyConfigured(
            f"{setting} must be an environment slug such as 'development' or "
            f"'production' (lowercase letters, digits, '-' and '_'), not {value!r}."
        )
    return value


def _served_environments(setting: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ImproperlyConfigured(
            f"{setting} must be a list of environment slugs such as ['production', 'development'], "
            f"not {type(value).__name__}."
        )
    for slug in value:
        _environment(setting, slug)
    return tuple(dict.fromkeys(value))


def _environment_hosts(setting: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{setting} must be a dict like {{'brand-a.example.com': 'brand-a'}}.")
    hosts = {}
    for host, slug in value.items():
        if not isinstance(host, str) or not HOST_RE.match(host):
            raise ImproperlyConfigured(
                f"{setting}: {str(host)[:80]!r} must be a host name (no scheme, port or path), "
                "e.g. 'brand-a.example.com'."
            )
        _environment(f"{setting}[{host!r}]", slug)
        hosts[host.lower()] = slug
    return hosts


def _optional_resolver(setting: str, value: Any) -> Callable[[Any], str | None] | None:
    if value is None:
        return None
    resolver = _callable(setting, value)
    try:
        signature = inspect.signature(resolver)
    except (TypeError, ValueError):  # some builtins have none: trust them
        return resolver
    try:
        signature.bind(object())
    except TypeError:
        raise ImproperlyConfigured(
            f"{setting} must accept one argument, the request: (request) -> environment slug | None."
        ) from None
    return resolver


def _encryption_keys(setting: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ImproperlyConfigured(
            f"{setting} must be a list of Fernet keys (split a comma-separated "
            f"environment variable before assigning it), not {type(value).__name__}."
        )
    if not all(isinstance(key, str) and key for key in value):
        raise ImproperlyConfigured(f"{setting} must hold non-empty strings only.")
    return tuple(value)


@lru_cache(maxsize=64)
def _import_callable(path: str) -> Callable[..., Any]:
    return import_string(path)  # type: ignore[no-any-return]


def _callable(setting: str, value: Any) -> Callable[..., Any]:
    if callable(value):
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise ImproperlyConfigured(
            f"{setting} must be a callable or the dotted path of one, not {type(value).__name__}."
        )
    try:
        imported = _import_callable(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting} = {value!r} cannot be imported: {exc}") from exc
    if not callable(imported):
        raise ImproperlyConfigured(f"{setting} = {value!r} does not name a callable.")
    return imported


def _whole_number(minimum: int) -> Validator[int]:
    def validate(setting: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ImproperlyConfigured(f"{setting} must be a whole number of at least {minimum}, not {value!r}.")
        return value

    return validate


def _fraction(*, zero_allowed: bool) -> Validator[float]:
    def validate(setting: str, value: Any) -> float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number and (0 <= value <= 1 if zero_allowed else 0 < value <= 1)):
            span = "from 0 to 1" if zero_allowed else "greater than 0 and at most 1"
            raise ImproperlyConfigured(f"{setting} must be a number {span}, not {value!r}.")
        return float(value)

    return validate


def _boolean(setting: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{setting} must be True or False.")
    return value


def _signed_fields(setting: str, value: Any) -> tuple[str, ...]:
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not all(isinstance(name, str) and name.isidentifier() for name in value)
    ):
        raise ImproperlyConfigured(f"{setting} must be a list of attribute names, e.g. ['email'].")
    if any("password" in name.lower() for name in value):
        raise ImproperlyConfigured(f"{setting} must not name a password: JWT claims are readable.")
    registered = sorted({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}.intersection(value))
    if registered:
        raise ImproperlyConfigured(f"{setting} must not name registered JWT claims ({', '.join(registered)}).")
    return tuple(value)


def _cookie_domain(setting: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 253 or not COOKIE_DOMAIN_RE.match(value):
        raise ImproperlyConfigured(
            f"{setting} must be None or the domain Intercom sets its cookies on, such as "
            f"'.example.com' (no scheme, port or path), not {value!r}."
        )
    return value


def _cache_cooldown(setting: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_CACHE_COOLDOWN:
        raise ImproperlyConfigured(
            f"{setting} must be a number of seconds from 0 to {MAX_CACHE_COOLDOWN}, not {value!r}."
        )
    return float(value)


@sensitive_variables()
def _secrets(setting: str, value: Any) -> dict[str, dict[str, str]]:
    """Messages name the pair, never the value."""
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{setting} must be a dict like {{'production': {{'ios': '...'}}}}.")
    for env, platforms in value.items():
        if not isinstance(env, str) or not ENVIRONMENT_SLUG_RE.match(env) or not isinstance(platforms, dict):
            raise ImproperlyConfigured(f"{setting}: {env!r} must be an environment slug mapping platforms to secrets.")
        for platform, secret in platforms.items():
            if platform not in PLATFORM_NAMES:
                raise ImproperlyConfigured(f"{setting}[{env!r}]: unknown platform {platform!r}.")
            if not isinstance(secret, str):
                raise ImproperlyConfigured(f"{setting}[{env!r}][{platform!r}] must be a string.")
            try:
                validate_secret(secret)
            except ValueError as exc:
                raise ImproperlyConfigured(f"{setting}[{env!r}][{platform!r}]: {exc}") from None
    return value


@sensitive_variables()
def _api_tokens(setting: str, value: Any) -> dict[str, str]:
    """Messages name the environment, never the value."""
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{setting} must be a dict like {{'production': '...'}}.")
    for env, token in value.items():
        if not isinstance(env, str) or not ENVIRONMENT_SLUG_RE.match(env):
            raise ImproperlyConfigured(f"{setting}: {env!r} must be an environment slug.")
        if not isinstance(token, str):
            raise ImproperlyConfigured(f"{setting}[{env!r}] must be a string.")
        try:
            validate_api_token(token)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{setting}[{env!r}]: {exc}") from None
    return value


def _api_base_url(setting: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    parsed = urlsplit(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ImproperlyConfigured(f"{setting} must be an http(s) URL such as 'https://api.eu.intercom.io', or None.")
    if parsed.username or parsed.password or parsed.query or parsed.fragment:
        # Never a credential in a URL: it would be shown wherever the URL is.
        raise ImproperlyConfigured(f"{setting} must not hold credentials, a query or a fragment.")
    return str(value).rstrip("/")


# A header name as a load balancer sets it (``X-Real-IP``, ``CF-Connecting-IP``).
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}\Z")
# Headers that carry a list of hops: a count of proxies reads them, a header name cannot.
HOP_LIST_HEADERS = frozenset({"x-forwarded-for", "forwarded"})


def _trusted_proxies(setting: str, value: Any) -> int | str:
    """0 (``REMOTE_ADDR``), the number of proxies appending to ``X-Forwarded-For``, or a header name."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10:
        return value
    if isinstance(value, str) and HEADER_NAME_RE.match(value) and value.lower() not in HOP_LIST_HEADERS:
        return value
    if isinstance(value, str) and value.lower() in HOP_LIST_HEADERS:
        raise ImproperlyConfigured(
            f"{setting} = {value!r} names a list of hops a client can prepend to: set the number of proxies "
            "in front of Django instead (e.g. 1), and the address they append is read."
        )
    raise ImproperlyConfigured(
        f"{setting} must be 0 (REMOTE_ADDR), the number of proxies in front of Django that append to "
        f"X-Forwarded-For (1 to 10), or the name of the header your load balancer sets (e.g. 'X-Real-IP'), "
        f"not {value!r}."
    )


def _deadline(setting: str, value: Any) -> date | None:
    """A calendar date (``datetime.date`` or ``"YYYY-MM-DD"``), or None (the reminders off)."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ImproperlyConfigured(
        f"{setting} must be a date (datetime.date or 'YYYY-MM-DD', e.g. '2027-01-31') or None, not {value!r}."
    )


# --- the declaration ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class Setting(Generic[T]):
    """One ``INTERCOM_IDENTITY_*`` setting, declared as an attribute of ``Settings``.

    A descriptor: reading ``conf.NAME`` validates the value and keeps it in the instance's
    ``__dict__``, which answers from then on until ``setting_changed`` clears it (what
    ``cached_property`` did, and what ``override_settings`` and pytest-django's ``settings``
    fixture send). So nothing is read at import time and the hot paths pay for an attribute
    lookup only. A malformed value raises ``ImproperlyConfigured`` and is not kept; the system
    checks read the same attributes, so it is reported at start-up.

    The check id and the doc are required so that no setting goes without its system check or
    its line in the reference.
    """

    default: Any
    validate: Validator[T]
    check: str  # "E0xx": the id of the system check that reports this setting malformed
    doc: str  # one line of Markdown: the settings table's "meaning" column
    name: str = field(init=False, default="")  # the attribute's name, set by __set_name__

    def __post_init__(self) -> None:
        if not CHECK_ID_RE.match(self.check):
            raise ValueError(f"A setting's check id is an error id such as 'E026', not {self.check!r}.")
        if not self.doc.strip() or "\n" in self.doc:
            raise ValueError("A setting's doc is one non-empty line (a row of the settings table).")

    def __set_name__(self, owner: type[Any], name: str) -> None:
        object.__setattr__(self, "name", name)

    @property
    def setting(self) -> str:
        """The Django setting's full name."""
        return PREFIX + self.name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Setting[T]: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> T: ...

    @sensitive_variables()  # the raw value may be a secret
    def __get__(self, instance: object | None, owner: type[Any]) -> Setting[T] | T:
        if instance is None:
            return self
        value = self.validate(self.setting, getattr(django_settings, self.setting, self.default))
        vars(instance)[self.name] = value  # shadows this (non-data) descriptor until setting_changed
        return value


class Settings:
    """Typed view of the ``INTERCOM_IDENTITY_*`` settings: each ``Setting`` here is the declaration.

    Its default, validator, check id and line of the reference are declared together; the system
    checks (``checks.py``), the unknown-setting warning (``unknown_settings()``) and the settings
    reference's table (``settings_table()``, ``make settings-table``) all come from these
    declarations, so a setting cannot be added in one place and forgotten in another. Declared in
    the order the reference lists them.
    """

    ENVIRONMENT = Setting(
        default="development",
        validate=_environment,
        check="E003",
        doc="Slug of the environment row this process serves (lowercase letters, digits, `-`, `_`). "
        "Selects the secrets, phases and app id.",
    )
    SERVED_ENVIRONMENTS = Setting(
        default=(),
        validate=_served_environments,
        check="E035",
        doc="Slugs of the environments this deployment may serve besides `ENVIRONMENT` (which is always served, "
        'and the default): e.g. `["production", "development"]` for a debug build of the app. See '
        "[several workspaces](../workspaces.md).",
    )
    ENVIRONMENT_RESOLVER: Setting[Callable[[Any], str | None] | None] = Setting(
        default=None,
        validate=_optional_resolver,
        check="E036",
        doc="Callable or dotted path, `(request) -> slug | None`: the environment of a request (`None`: the "
        "default). Ready-made: `intercom_identity.resolvers.header_environment` (`X-Intercom-Environment`), "
        "`intercom_identity.resolvers.host_environment` (`ENVIRONMENT_HOSTS`). A slug not served is refused.",
    )
    ENVIRONMENT_HOSTS = Setting(
        default={},
        validate=_environment_hosts,
        check="E037",
        doc='For `host_environment`: host names (no port) to environment slugs, `{"brand-a.example.com": '
        '"brand-a"}`; other hosts get the default environment.',
    )
    ENCRYPTION_KEYS = Setting(
        default=(),
        validate=_encryption_keys,
        check="E002",
        doc="List of Fernet keys. The first encrypts, all decrypt (see "
        "[key rotation](../deployment.md#encryption-keys)). "
        "Empty: with `DEBUG` on, a key derived from `SECRET_KEY` is used (warning `W001`); "
        "with `DEBUG` off it is error `E001`.",
    )
    USER_ID: Setting[Callable[[Any], object | None]] = Setting(
        default="intercom_identity.credentials.users.default_user_id",
        validate=_callable,
        check="E004",
        doc="Callable or dotted path, `(user) -> str | int | None`: the id Intercom knows the user by. "
        "Default `str(user.pk)`. See [what the callables may return](#identity-callables).",
    )
    USER_EMAIL: Setting[Callable[[Any], str | None]] = Setting(
        default="intercom_identity.credentials.users.default_user_email",
        validate=_callable,
        check="E005",
        doc="Callable or dotted path, `(user) -> str | None`. "
        "Default: the user model's email field, `None` when blank.",
    )
    AUTHENTICATE: Setting[Callable[[Any], Any]] = Setting(
        default="intercom_identity.credentials.users.default_authenticate",
        validate=_callable,
        check="E006",
        doc="Callable or dotted path, `(request) -> user | None`: who is asking the JSON view. "
        "Default: `request.user` when authenticated. Point it at your token authentication to use the view "
        "without sessions (no DRF needed).",
    )
    JWT_EXPIRY = Setting(
        default=3600,
        validate=_whole_number(1),
        check="E007",
        doc="Lifetime in seconds of a handed-out JWT (`exp` = now + this).",
    )
    JWT_SIGNED_FIELDS = Setting(
        default=("email",),
        validate=_signed_fields,
        check="E008",
        doc="User attributes signed into the JWT beside `user_id`. `email` is the `USER_EMAIL` value; any other "
        "name is read from the user object (called if it is a method). On web pages these stay out of the "
        "clear settings.",
    )
    VERIFY_IN_PRODUCTION = Setting(
        default=False,
        validate=_boolean,
        check="E009",
        doc="Whether the verification emulator exists when the current environment is a production one "
        "(404 otherwise).",
    )
    SECRETS = Setting(
        default={},
        validate=_secrets,
        check="E013",
        doc="Secrets supplied by settings, for teams whose secrets live in a vault or the environment: "
        '`{"production": {"ios": "...", ...}, ...}`. They override stored secrets for the pairs they name; the '
        "admin shows those pairs as *managed by settings* (read-only) and `set-secret` refuses them. Clear a "
        "stored secret such a pair still has (`clear-secret`; check E015 insists).",
    )
    HASH_RATE_LIMIT = Setting(
        default=120,
        validate=_whole_number(0),
        check="E012",
        doc="JSON view requests per minute and signed-in user, counted in Django's default cache with one round "
        "trip a request (see [rate limits](../rate-limits.md)); `0` turns it off.",
    )
    ENFORCE_THRESHOLD = Setting(
        default=0.95,
        validate=_fraction(zero_allowed=True),
        check="E011",
        doc="Adoption (0\N{EN DASH}1) needed before a platform may move to `enforced` without forcing.",
    )
    CACHE_TTL = Setting(
        default=60,
        validate=_whole_number(0),
        check="E016",
        doc="Seconds a process trusts its copy of the configuration at most (see [the configuration "
        "cache](../deployment.md#the-configuration-cache)). The backstop for a change nobody announced, "
        "e.g. raw SQL; every "
        "change made through the app is served by every process within 0.1 s of its commit. `0` turns the "
        "copies off (every request reads the database).",
    )
    CACHE_COOLDOWN = Setting(
        default=5,
        validate=_cache_cooldown,
        check="E021",
        doc=f"Seconds a process leaves Django's cache alone after a cache error or time-out (0 to "
        f"{MAX_CACHE_COOLDOWN}; `0` tries on every call). Meanwhile it serves without the cache, as for a cache "
        "that refuses connections; then one call tries again. A hung cache so costs each process one client "
        "time-out per cool-down (see [deployment notes](../deployment.md#deployment-notes)).",
    )
    COOKIE_DOMAIN = Setting(
        default=None,
        validate=_cookie_domain,
        check="E017",
        doc='The Domain Intercom\'s messenger cookies are on (your top domain, e.g. `".example.com"`), for '
        "[`MessengerSessionMiddleware`](../web.md#the-web-messengers-session-logout-switching-users-jwt-refresh) "
        "and the "
        "session script to expire them there. `None`: host-only and on every parent domain of the request's "
        "host. No scheme, port or path.",
    )
    API_TOKENS = Setting(
        default={},
        validate=_api_tokens,
        check="E018",
        doc='Intercom access tokens supplied by settings, `{"production": "...", ...}`, for [workspace '
        "truth](../workspace.md). They win over a token stored for that environment (the "
        "admin then shows it as *managed by settings*; `set-api-token` refuses it).",
    )
    API_BASE_URL = Setting(
        default=None,
        validate=_api_base_url,
        check="E019",
        doc="Overrides the Intercom REST API URL of every environment's region (`https://api.intercom.io`, "
        "`https://api.eu.intercom.io`, `https://api.au.intercom.io`): a proxy, or a local server in tests. An "
        "http(s) URL without credentials, query or fragment.",
    )
    WORKSPACE_STALE_HOURS = Setting(
        default=24,
        validate=_whole_number(1),
        check="E020",
        doc="Hours after which the last successful sync with Intercom is reported as `sync_stale` (whole "
        "number, at least 1).",
    )
    VERIFY_RATE_LIMIT = Setting(
        default=60,
        validate=_whole_number(0),
        check="E010",
        doc="Emulator requests per minute per signed-in user, or per client address (`TRUSTED_PROXIES`; IPv6 "
        "per /64) for anonymous requests, counted in Django's default cache (shared between workers when that "
        "cache is, e.g. Redis). `0` turns the limit off.",
    )
    TRUSTED_PROXIES = Setting(
        default=0,
        validate=_trusted_proxies,
        check="E031",
        doc="Where the per-address rate limit reads the client's address: `0` `REMOTE_ADDR`; a number N, the N "
        "proxies in front of Django each append to `X-Forwarded-For` (the N-th address from the right); or the "
        'name of the header your load balancer sets (`"X-Real-IP"`). Check W014 warns of forwarding headers '
        "this ignores.",
    )
    RATE_LIMIT_FAIL_CLOSED = Setting(
        default=False,
        validate=_boolean,
        check="E030",
        doc="When Django's cache is down the rate limits cannot count: `False` serves every request (open), "
        "`True` answers 503 `rate_limit_unavailable` with `Retry-After` (closed).",
    )
    SENDING_EVIDENCE_SHARE = Setting(
        default=0.5,
        validate=_fraction(zero_allowed=False),
        check="E024",
        doc="Share (above 0, up to 1) of a version's active users who must have been seen receiving the "
        "credential on it before the version counts as sending; never less than `ENFORCE_THRESHOLD`, "
        "whichever is higher applies (see [the rollout page](../rollout.md)).",
    )
    SENDING_EVIDENCE_USERS = Setting(
        default=5,
        validate=_whole_number(1),
        check="E025",
        doc="And at least this many distinct users (1 or more).",
    )
    WEB_SOAK = Setting(
        default=86400,
        validate=_whole_number(0),
        check="E026",
        doc="Seconds web must have been handing out the credential (`sending`) before it counts as ready "
        "to enforce: pages opened before then are still open without it. `0` turns the wait off.",
    )
    MAX_NEW_VERSIONS_PER_USER = Setting(
        default=3,
        validate=_whole_number(1),
        check="E022",
        doc="Versions nobody reported before that one user may introduce per UTC day (1 or more); more are ignored.",
    )
    ACTIVITY_RETENTION_DAYS = Setting(
        default=90,
        validate=_whole_number(MIN_RETENTION_DAYS),
        check="E023",
        doc="Days of app activity kept: `prune-activity` deletes older days, and recording refuses reports older "
        f"than that. At least {MIN_RETENTION_DAYS}, the window the overview draws.",
    )
    DEADLINE = Setting(
        default="2027-01-31",
        validate=_deadline,
        check="E039",
        doc="The day after which Intercom's Messenger recognises only users authenticated by JWT or identity "
        "verification (Intercom's 31 January 2027). From 60 days before it, warning `W019`, the overview and "
        "`status` list each production platform not yet enforced. `None` turns the reminders off.",
    )
    SECRET_RETIRE_AFTER_HOURS = Setting(
        default=168,
        validate=_whole_number(1),
        check="E040",
        doc="Hours after `rotate-secret` before `retire-secret` may delete the old secret in Intercom without "
        "`--force` (default a week: apps still sending hashes made with it log in again meanwhile). Past it, "
        "the workspace sync reports drift `old_secret_not_retired`.",
    )

    def served_environments(self) -> tuple[str, ...]:
        """Every environment this deployment serves, the default first (kept like the settings)."""
        served: tuple[str, ...] | None = vars(self).get("_served_environments")
        if served is None:
            served = vars(self)["_served_environments"] = tuple(
                dict.fromkeys((self.ENVIRONMENT, *self.SERVED_ENVIRONMENTS))
            )
        return served

    @sensitive_variables()
    def secret_from_settings(self, environment: str, platform: str) -> str | None:
        return self.SECRETS.get(environment, {}).get(platform)

    @sensitive_variables()
    def api_token_from_settings(self, environment: str) -> str | None:
        return self.API_TOKENS.get(environment)

    # Django's own settings stay live: Django itself assigns DEBUG directly (no signal) in tests.
    @property
    def DEBUG(self) -> bool:
        return bool(django_settings.DEBUG)

    @property
    def SECRET_KEY(self) -> str:
        return str(django_settings.SECRET_KEY)


def registry(owner: type[Any]) -> tuple[Setting[Any], ...]:
    """The ``Setting`` attributes of ``owner`` in declaration order; refuses a check id used twice."""
    declared = tuple(value for value in vars(owner).values() if isinstance(value, Setting))
    ids = [setting.check for setting in declared]
    twice = sorted({check for check in ids if ids.count(check) > 1})
    if twice:
        raise ValueError(f"Check ids declared by more than one setting: {', '.join(twice)}.")
    return declared


SETTINGS = registry(Settings)
DEFAULTS: Mapping[str, Any] = MappingProxyType({setting.name: setting.default for setting in SETTINGS})


def unknown_settings() -> list[str]:
    """Names of ``INTERCOM_IDENTITY_*`` settings this app does not know: most likely typos."""
    known = {setting.setting for setting in SETTINGS}
    return sorted(name for name in dir(django_settings) if name.startswith(PREFIX) and name not in known)


# --- the reference ------------------------------------------------------------------------------------


def python_literal(value: Any) -> str:
    """A default as a settings module would write it: strings in double quotes, sequences as lists."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(python_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def settings_table(settings: tuple[Setting[Any], ...] = SETTINGS) -> str:
    """The settings reference as a Markdown table, one row a setting (docs/reference/settings.md holds it verbatim).

    Plain text with no Django set-up needed, so a documentation build can call it or include the
    reference's copy (between its ``--8<-- [start:settings-table]`` markers).
    """
    rows = ["| setting | default | check | meaning |", "|---|---|---|---|"]
    rows += [
        f"| `{s.setting}` | `{_cell(python_literal(s.default))}` | `{s.check}` | {_cell(s.doc)} |" for s in settings
    ]
    return "\n".join(rows) + "\n"


conf = Settings()


def forget_settings() -> None:
    """Any change may matter (DEBUG, SECRET_KEY, ours): forget every validated value."""
    vars(conf).clear()

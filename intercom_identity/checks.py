"""System checks: a misconfiguration is reported at start-up, not at the first request.

Every message, hint and id lives in ``MESSAGES`` so ids stay unique and their letter
matches the severity (``E`` errors, ``W`` warnings). The ``<setting>_malformed`` errors come
from the settings' declarations in ``conf.py``, each with the id declared there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from intercom_identity._internal import crypto, ratelimit
from intercom_identity._internal.terminal import for_terminal
from intercom_identity.conf import PREFIX, SETTINGS, Setting, Settings, conf, unknown_settings

KEY_HINT = f"Generate one with: {crypto.GENERATE_KEY_COMMAND} and list it in {PREFIX}ENCRYPTION_KEYS."


def _error(id: str, hint: str | None = None) -> Callable[[str], CheckMessage]:
    return lambda msg: Error(msg, hint=hint, id=f"intercom_identity.{id}")


def _warning(id: str, hint: str | None = None) -> Callable[[str], CheckMessage]:
    return lambda msg: Warning(msg, hint=hint, id=f"intercom_identity.{id}")


def malformed(setting: Setting[Any]) -> str:
    """The ``MESSAGES`` key of a setting's malformed-value error."""
    return f"{setting.name.lower()}_malformed"


# Hints for a malformed setting, beyond its message (which says what is expected).
MALFORMED_HINTS = {Settings.ENCRYPTION_KEYS.name: KEY_HINT}

MESSAGES: dict[str, Callable[[str], CheckMessage]] = {
    "keys_missing": _error("E001", KEY_HINT),
    **{malformed(setting): _error(setting.check, MALFORMED_HINTS.get(setting.name)) for setting in SETTINGS},
    "phase_without_secret": _error(
        "E014", "Store a secret (manage.py intercom_identity set-secret) or supply it in INTERCOM_IDENTITY_SECRETS."
    ),
    "keys_derived": _warning(
        "W001",
        "Fine for local development only: secrets stored now become unreadable if SECRET_KEY changes. " + KEY_HINT,
    ),
    "unknown_setting": _warning("W002", "Check the spelling against the settings listed in the README."),
    "secrets_unknown_environment": _warning("W003", "Check the environment slugs in the admin (a typo?)."),
    "process_local_cache": _warning(
        "W004",
        "Point CACHES['default'] at a cache every process shares (Redis: "
        "django.core.cache.backends.redis.RedisCache, or Memcached). If only one process ever serves "
        "this site, add 'intercom_identity.W004' to SILENCED_SYSTEM_CHECKS.",
    ),
    "workspace_drift": _warning(
        "W005",
        "Intercom's workspace disagrees with what this app records: see the README, 'Workspace truth', for what "
        "each drift code means and how to resolve it.",
    ),
    "workspace_stale": _warning(
        "W006",
        "Sync again: manage.py intercom_identity workspace ENV (or 'Sync with Intercom' on the admin overview).",
    ),
    "web_without_app_id": _warning(
        "W007",
        "Set it: manage.py intercom_identity set-app-id ENV APP_ID (the app ID is in Intercom's Messenger "
        "installation settings), or in the admin's Environments page.",
    ),
    "forwarding_ignored": _warning(
        "W014",
        f"Behind a proxy or load balancer, set {PREFIX}TRUSTED_PROXIES to the number of proxies that append "
        "to X-Forwarded-For, or to the header your load balancer sets (e.g. 'X-Real-IP'): see "
        "docs/rate-limits.md. Never trust a header a client can set without a proxy in front.",
    ),
    "settings_secret_looks_wrong": _error(
        "E027",
        "Copy the identity verification secret of that workspace and platform from Intercom (Settings > "
        "Security > Identity verification) into the variable or vault entry that fills INTERCOM_IDENTITY_SECRETS.",
    ),
    "secret_file_writable_by_others": _warning(
        "W009",
        "Any local account could replace the secret and have Intercom trust hashes it mints: "
        "chmod o-w the file (0600 or 0640, owned by the user the site runs as).",
    ),
    "values_under_older_key": _warning(
        "W011",
        "Run: manage.py intercom_identity rotate-keys (once every process has the current key list), "
        "and keep every key until this check is quiet.",
    ),
    "api_base_url_in_clear": _warning(
        "W012",
        "Use an https:// URL (Intercom's regions and any proxy in front of them speak TLS). Plain http is "
        "accepted without a warning only for a loopback host (a local test server).",
    ),
    "deadline_not_enforced": _warning(
        "W019",
        "Intercom's help article 10589769 (authenticating Messenger users with JWTs): after the deadline the "
        "Messenger treats users not authenticated by JWT or identity verification as logged-out visitors. Enforce "
        "each platform listed (the admin's overview shows the same rows), or set INTERCOM_IDENTITY_DEADLINE = None "
        "to turn the reminders off.",
    ),
    "secret_creation_unfinished": _warning(
        "W020",
        "Run the same command again (manage.py intercom_identity create-secret or rotate-secret ENV PLATFORM): it "
        "first deletes in Intercom any secret the unfinished attempt made, then makes the new one. See "
        "docs/secrets.md, 'A failure half-way'.",
    ),
    "hosts_unserved": _error(
        "E038",
        f"Add the environment to {PREFIX}SERVED_ENVIRONMENTS, or map the host to one that is served: "
        "requests to that host are refused with 400 unknown_environment.",
    ),
    "served_without_row": _warning(
        "W017",
        "Create it in the admin's Environments page (or fix the slug): until then requests resolved to it "
        "get 503 environment_not_configured and no messenger.",
    ),
    "resolver_without_choice": _warning(
        "W018",
        f"List the other environments in {PREFIX}SERVED_ENVIRONMENTS (see docs/workspaces.md), or remove "
        f"{PREFIX}ENVIRONMENT_RESOLVER.",
    ),
    "stored_and_settings_secret": _error(
        "E015",
        "Run: manage.py intercom_identity clear-secret ENV PLATFORM. Otherwise the stored secret silently "
        "comes back into use the day the settings entry goes missing.",
    ),
    "middleware_missing": _error(
        "E033",
        "Add django.contrib.sessions.middleware.SessionMiddleware and "
        "django.contrib.auth.middleware.AuthenticationMiddleware to MIDDLEWARE, before "
        "intercom_identity.middleware.MessengerSessionMiddleware.",
    ),
    "messenger_middleware_absent": _warning(
        "W021",
        "Add intercom_identity.middleware.MessengerSessionMiddleware to MIDDLEWARE, after SessionMiddleware and "
        "AuthenticationMiddleware (the installation steps do). A site that never renders the app's template tags "
        "(it serves mobile apps only) can add 'intercom_identity.W021' to SILENCED_SYSTEM_CHECKS.",
    ),
    "middleware_misplaced": _error(
        "E034",
        "Move intercom_identity.middleware.MessengerSessionMiddleware after SessionMiddleware and "
        "AuthenticationMiddleware in MIDDLEWARE: it reads the session and the user they set up.",
    ),
}


def check_encryption_keys(**kwargs: Any) -> list[CheckMessage]:
    try:
        keys = conf.ENCRYPTION_KEYS
    except ImproperlyConfigured as exc:
        return [MESSAGES[malformed(Settings.ENCRYPTION_KEYS)](str(exc))]
    if not keys:
        if conf.DEBUG:
            return [
                MESSAGES["keys_derived"](
                    f"{PREFIX}ENCRYPTION_KEYS is empty; using a key derived from SECRET_KEY because DEBUG is on."
                )
            ]
        return [
            MESSAGES["keys_missing"](
                f"{PREFIX}ENCRYPTION_KEYS is empty and DEBUG is off: stored secrets cannot be encrypted or read."
            )
        ]
    try:
        crypto.fernet()
    except ImproperlyConfigured as exc:
        return [MESSAGES[malformed(Settings.ENCRYPTION_KEYS)](str(exc))]
    return []


def _check_setting(setting: Setting[Any]) -> list[CheckMessage]:
    try:
        getattr(conf, setting.name)
    except ImproperlyConfigured as exc:
        return [MESSAGES[malformed(setting)](str(exc))]
    return []


def check_environment(**kwargs: Any) -> list[CheckMessage]:
    return _check_setting(Settings.ENVIRONMENT)


# Settings with a check of their own above; every other one is validated by check_settings.
CHECKED_APART = frozenset({Settings.ENCRYPTION_KEYS.name, Settings.ENVIRONMENT.name})


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Each declared setting's validation, reported under its own id, in the order of the ids."""
    validated = sorted((s for s in SETTINGS if s.name not in CHECKED_APART), key=lambda setting: setting.check)
    return [message for setting in validated for message in _check_setting(setting)]


def check_unknown_settings(**kwargs: Any) -> list[CheckMessage]:
    return [
        MESSAGES["unknown_setting"](f"{name} is not a setting of intercom_identity.") for name in unknown_settings()
    ]


def _served() -> tuple[str, ...] | None:
    """The served environments, or None when a setting they come from is malformed (E003/E035 say so)."""
    try:
        return conf.served_environments()
    except ImproperlyConfigured:
        return None


def check_served_environments(**kwargs: Any) -> list[CheckMessage]:
    """The resolver and host map agree with what is served: a host mapped to an unserved
    environment is always refused; a resolver with nothing to choose from does nothing."""
    served = _served()
    if served is None:
        return []
    messages = []
    try:
        hosts = conf.ENVIRONMENT_HOSTS
    except ImproperlyConfigured:  # E037
        hosts = {}
    messages += [
        MESSAGES["hosts_unserved"](
            f"{PREFIX}ENVIRONMENT_HOSTS maps {host!r} to {slug!r}, which this deployment does not serve "
            f"({PREFIX}SERVED_ENVIRONMENTS: {', '.join(served)})."
        )
        for host, slug in hosts.items()
        if slug not in served
    ]
    try:
        resolver = conf.ENVIRONMENT_RESOLVER
    except ImproperlyConfigured:  # E036
        return messages
    if resolver is not None and len(served) == 1:
        messages.append(
            MESSAGES["resolver_without_choice"](
                f"{PREFIX}ENVIRONMENT_RESOLVER is set but this deployment serves only {served[0]!r}: every "
                "request it assigns to another environment is refused."
            )
        )
    elif resolver is not None and getattr(resolver, "__name__", "") == "host_environment" and not hosts:
        messages.append(
            MESSAGES["resolver_without_choice"](
                f"{PREFIX}ENVIRONMENT_RESOLVER is host_environment but {PREFIX}ENVIRONMENT_HOSTS is empty: every "
                f"request gets the default environment, {served[0]!r}."
            )
        )
    return messages


PROCESS_LOCAL_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def multi_process_signs() -> list[str]:
    """Why this deployment looks like more than one process serves it (empty: it does not)."""
    # System checks run in management commands (check --deploy, migrate), not in server
    # workers, so the signs are what a deployment's settings and environment say.
    signs = []
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    if concurrency.isdigit() and int(concurrency) > 1:
        signs.append(f"WEB_CONCURRENCY is {concurrency}")
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    if not conf.DEBUG and engine and not engine.endswith("sqlite3"):
        signs.append("DEBUG is off with a database server")
    return signs


def check_shared_cache(**kwargs: Any) -> list[CheckMessage]:
    """Configuration copies are validated against a version in the default cache: with a
    process-local cache, one process never hears of a change made in another."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    signs = multi_process_signs()
    if backend != PROCESS_LOCAL_CACHE or not signs:
        return []
    try:
        ttl = f"{conf.CACHE_TTL} s"
    except ImproperlyConfigured:
        ttl = "its value"
    return [
        MESSAGES["process_local_cache"](
            f"The default cache is process-local (LocMemCache) while this deployment looks multi-process "
            f"({'; '.join(signs)}). Each process then keeps its own configuration version: a phase change or "
            f"new secret made through one process is served by the others only when their copy expires, "
            f"after up to {PREFIX}CACHE_TTL ({ttl}), and rate limits are counted per process."
        )
    ]


def check_forwarding_headers(**kwargs: Any) -> list[CheckMessage]:
    """Requests came with a forwarding header while the rate limit read ``REMOTE_ADDR``: behind
    a proxy every anonymous client then shares the proxy's bucket. Seen by a worker (it tells
    the others through the cache for a day), so a fresh deployment warns after its first
    such request."""
    try:
        source = conf.TRUSTED_PROXIES
    except ImproperlyConfigured:  # E031 says so
        return []
    header = ratelimit.ignored_forwarding_header()
    if header is None:
        return []
    how = "is 0 (REMOTE_ADDR)" if source == 0 else f"is {source!r}, which those requests did not carry"
    return [
        MESSAGES["forwarding_ignored"](
            f"Requests reached this site with a {header} header while {PREFIX}TRUSTED_PROXIES {how}: the "
            "per-address rate limit counts them by the address of whatever connected last (a proxy's), so "
            "anonymous clients behind it are limited together."
        )
    ]


def check_phases_have_secrets(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A platform handing out credentials must have a secret, stored or supplied by settings.

    A database check (``manage.py check --database default``, and ``migrate``): it reads rows.
    """
    if not databases:
        return []
    from intercom_identity.models import Environment, PlatformConfig, RolloutPhase

    try:
        conf.SECRETS  # noqa: B018 - malformed: E013 says so; this check cannot judge
    except ImproperlyConfigured:
        return []
    try:
        configs = list(PlatformConfig.objects.select_related("environment").exclude(phase=RolloutPhase.OFF))
        slugs = set(Environment.objects.values_list("slug", flat=True))
    except Exception:  # tables not migrated yet
        return []
    # Check messages are printed on a terminal: the label is stored text.
    messages = [
        MESSAGES["phase_without_secret"](f"{for_terminal(str(config))} is in phase '{config.phase}' but has no secret.")
        for config in configs
        if not config.has_secret
    ]
    messages += [
        MESSAGES["stored_and_settings_secret"](
            f"{for_terminal(str(config))} has a stored secret and one from {PREFIX}SECRETS."
        )
        for config in PlatformConfig.objects.select_related("environment").exclude(encrypted_secret="")
        if config.managed_by_settings
    ]
    messages += [
        MESSAGES["secrets_unknown_environment"](f"{PREFIX}SECRETS names {env!r}, which is no environment.")
        for env in sorted(set(conf.SECRETS) - slugs)
    ]
    return messages


def check_settings_secret_choices(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The rules ``set-secret`` and the admin apply (too short, an app ID, another pair's secret),
    for the secrets ``INTERCOM_IDENTITY_SECRETS`` supplies. A database check: it reads app IDs."""
    if not databases:
        return []
    from intercom_identity.models import PlatformConfig
    from intercom_identity.rollout.changes import check_secret_choice

    try:
        supplied = conf.SECRETS
        configs = {
            (config.environment.slug, config.platform): config
            for config in PlatformConfig.objects.select_related("environment")
        }
    except ImproperlyConfigured:  # E013 says so
        return []
    except Exception:  # tables not migrated yet
        return []
    messages = []
    for env, platforms in sorted(supplied.items()):
        for platform, secret in sorted(platforms.items()):
            config = configs.get((env, platform))
            if config is None:  # W003
                continue
            try:
                check_secret_choice(config, secret)
            except ValueError as exc:  # the message names the mistake and the pairs, never the value
                messages.append(
                    MESSAGES["settings_secret_looks_wrong"](
                        f"{PREFIX}SECRETS[{env!r}][{platform!r}]: {for_terminal(str(exc))}"
                    )
                )
    return messages


def check_secret_files(**kwargs: Any) -> list[CheckMessage]:
    """A ``*_FILE`` secret or API token (``intercom_identity.environ``) that others may write."""
    from intercom_identity.environ import secret_files, writable_by_others

    return [
        MESSAGES["secret_file_writable_by_others"](
            f"{name} names {for_terminal(str(path))}, which users other than its owner and group may write."
        )
        for name, path in sorted(secret_files().items())
        if writable_by_others(path)
    ]


def check_workspace_drift(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Drift between the records and the Intercom workspace, judged from the stored snapshot.

    A database check: it reads rows and never calls Intercom (``workspace.findings`` only
    reads what the last sync stored). ``sync_stale`` is its own id: its fix is to sync.
    """
    if not databases:
        return []
    from intercom_identity.models import Environment
    from intercom_identity.workspace.drift import SYNC_STALE
    from intercom_identity.workspace.sync import findings

    try:
        conf.API_TOKENS  # noqa: B018 - malformed: E018 says so; this check cannot judge
        conf.WORKSPACE_STALE_HOURS  # noqa: B018 - malformed: E020
        conf.SECRETS  # noqa: B018 - malformed: E013
        environments = list(Environment.objects.prefetch_related("platforms"))
    except ImproperlyConfigured:
        return []
    except Exception:  # tables not migrated yet
        return []
    messages = []
    for environment in environments:
        for finding in findings(environment):
            kind = "workspace_stale" if finding.code == SYNC_STALE else "workspace_drift"
            # Printed on a terminal: the detail quotes Intercom's text (its app id, an admin's email).
            messages.append(MESSAGES[kind](f"{environment.slug}: {finding.code}: {for_terminal(finding.detail)}"))
    return messages


def check_web_app_id(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A served environment hands the web messenger an identity but no app ID to boot with;
    a served environment has no row at all.

    The messenger would not start, quietly: ``{% intercom_messenger %}`` renders nothing and
    ``{% intercom_settings %}`` an empty ``app_id``. A database check, like E014. Every
    environment this deployment serves is checked, not only the default.
    """
    if not databases:
        return []
    from intercom_identity.models import Environment, Platform, PlatformConfig, RolloutPhase

    served = _served()
    if served is None:
        return []
    try:
        environments = {env.slug: env for env in Environment.objects.filter(slug__in=served)}
        webs = {
            config.environment_id: config
            for config in PlatformConfig.objects.filter(platform=Platform.WEB, environment__slug__in=served)
        }
    except Exception:  # tables not migrated yet
        return []
    messages = []
    for slug in served:
        environment = environments.get(slug)
        if environment is None:
            messages.append(
                MESSAGES["served_without_row"](
                    f"{_served_as(slug)} is served by this deployment but no environment {slug!r} exists."
                )
            )
            continue
        web = webs.get(environment.pk)
        if web is None or environment.app_id or web.phase == RolloutPhase.OFF:
            continue
        messages.append(
            MESSAGES["web_without_app_id"](
                f"The served environment {for_terminal(str(environment))} ({_served_as(slug)}) has no Intercom app "
                f"ID while its web phase is '{web.phase}': the web messenger cannot start (the tags render no app_id)."
            )
        )
    return messages


def _served_as(slug: str) -> str:
    """How a served slug got served: the default environment, or listed beside it."""
    if slug == conf.ENVIRONMENT:
        return f"{PREFIX}ENVIRONMENT = {slug!r}"
    return f"{slug!r} in {PREFIX}SERVED_ENVIRONMENTS"


MESSENGER_MIDDLEWARE = "intercom_identity.middleware.MessengerSessionMiddleware"
# What the middleware needs before it: the session (who was signed in) and the user (request.auser).
NEEDED_BEFORE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


def check_middleware(**kwargs: Any) -> list[CheckMessage]:
    """MessengerSessionMiddleware present, after SessionMiddleware and AuthenticationMiddleware: at
    start-up, not as an error on every request. Subclasses count as what they extend.

    The tags only mark a page that carries a credential; the middleware is what makes it ``private,
    no-store``, so a missing one is warned about (a template's use of the tags cannot be seen here)."""
    middleware = [_class_path(path) for path in getattr(settings, "MIDDLEWARE", None) or []]
    ours = next((index for index, paths in enumerate(middleware) if MESSENGER_MIDDLEWARE in paths), None)
    if ours is None:
        return [
            MESSAGES["messenger_middleware_absent"](
                "MessengerSessionMiddleware is not in MIDDLEWARE: a page that renders {% intercom_messenger %} or "
                "{% intercom_settings %} with a user hash or JWT goes out without Cache-Control: private, "
                "no-store, so a page cache or shared proxy can hand one user's credential to another (and the "
                "messenger's cookies outlive a change of user)."
            )
        ]
    messages = []
    for needed in NEEDED_BEFORE:
        position = next((index for index, paths in enumerate(middleware) if needed in paths), None)
        name = needed.rsplit(".", 1)[1]
        if position is None:
            messages.append(
                MESSAGES["middleware_missing"](
                    f"MessengerSessionMiddleware is in MIDDLEWARE without {name}: it cannot tell who was signed in, "
                    "so the messenger's cookies are never expired on logout."
                )
            )
        elif position > ours:
            messages.append(
                MESSAGES["middleware_misplaced"](
                    f"MessengerSessionMiddleware comes before {name} in MIDDLEWARE: it runs before the "
                    f"{'session' if 'sessions' in needed else 'user'} it reads is set up."
                )
            )
    return messages


def _class_path(path: Any) -> set[str]:
    """``path`` and the dotted paths of the classes it extends (empty when it cannot be imported)."""
    if not isinstance(path, str):
        return set()
    try:
        cls = import_string(path)
    except ImportError:
        return {path}
    if not isinstance(cls, type):
        return {path}
    return {path} | {f"{base.__module__}.{base.__qualname__}" for base in cls.__mro__}


def check_deadline(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every served production platform not yet enforced, in the last 60 days before Intercom's deadline
    and after it (``rollout.deadline``). A database check: it reads rows and adoption tallies."""
    if not databases:
        return []
    from intercom_identity.rollout.deadline import deadline_standing

    try:
        conf.DEADLINE  # noqa: B018 - malformed: E039 says so; this check cannot judge
        conf.ENVIRONMENT  # noqa: B018 - malformed: E003
        conf.ENFORCE_THRESHOLD  # noqa: B018 - malformed: its own error
        standing = deadline_standing()
    except ImproperlyConfigured:
        return []
    except Exception:  # tables not migrated yet
        return []
    if standing is None:
        return []
    return [
        MESSAGES["deadline_not_enforced"](f"{standing.summary} {for_terminal(standing.line(platform))}")
        for platform in standing.platforms
    ]


def check_values_under_first_key(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Stored secrets and API tokens encrypted with a key other than the first: removing that
    key from ``INTERCOM_IDENTITY_ENCRYPTION_KEYS`` would make them unreadable (a 503 for a
    secret in use). A database check: it reads every encrypted value's signature."""
    if not databases:
        return []
    from intercom_identity._internal.key_rotation import key_coverage

    try:
        crypto.fernet()  # malformed or missing keys: E001 / the keys' own error says so
        older = key_coverage().older_key
    except ImproperlyConfigured:
        return []
    except Exception:  # tables not migrated yet
        return []
    if not older:
        return []
    return [
        MESSAGES["values_under_older_key"](
            f"{len(older)} stored encrypted value(s) are not encrypted with the first key of "
            f"{PREFIX}ENCRYPTION_KEYS ({for_terminal(', '.join(older[:5]))}{', ...' if len(older) > 5 else ''}): "
            "removing an older key would make them unreadable."
        )
    ]


def check_api_base_url_tls(**kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: an ``http://`` API URL to a host other than this machine sends every
    environment's API token (``Authorization: Bearer``) and Intercom's answers in clear."""
    try:
        url = conf.API_BASE_URL
    except ImproperlyConfigured:  # E019 says so
        return []
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme != "http" or _is_loopback(parts.hostname or ""):
        return []
    return [
        MESSAGES["api_base_url_in_clear"](
            f"{PREFIX}API_BASE_URL is a plain http:// URL to {for_terminal(parts.hostname or '')}: the Intercom API "
            "token would travel in clear to it on every sync."
        )
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always this machine
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


# Registered with ``deploy=True``: run by ``manage.py check --deploy``.
DEPLOY_CHECKS = [check_api_base_url_tls]


def check_unfinished_secret_creations(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """A create- or rotate-secret that stopped half-way (Intercom or the database failed): Intercom may
    hold a secret this app never stored until the command is run again. A database check."""
    if not databases:
        return []
    from intercom_identity.models import PlatformConfig

    try:
        pending = list(PlatformConfig.objects.select_related("environment").exclude(pending_secret_name=""))
    except Exception:  # tables not migrated yet
        return []
    return [
        MESSAGES["secret_creation_unfinished"](
            f"{for_terminal(str(config))}: a secret creation in Intercom did not finish "
            f"({for_terminal(config.pending_secret_name)})."
        )
        for config in pending
    ]


DATABASE_CHECKS = [
    check_phases_have_secrets,
    check_settings_secret_choices,
    check_workspace_drift,
    check_web_app_id,
    check_deadline,
    check_unfinished_secret_creations,
    check_values_under_first_key,
]

ALL_CHECKS = [
    check_encryption_keys,
    check_environment,
    check_settings,
    check_unknown_settings,
    check_shared_cache,
    check_forwarding_headers,
    check_secret_files,
    check_served_environments,
    check_middleware,
]

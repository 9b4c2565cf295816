"""The configuration a credential is served from, kept decrypted per process and trusted while
the version in Django's cache is the one it was loaded under (and at most
``INTERCOM_IDENTITY_CACHE_TTL`` seconds). The documentation's deployment page says what this
guarantees across processes."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal.cacheguard import CacheUnavailable, cache
from intercom_identity.conf import PREFIX, conf
from intercom_identity.constants import DEFAULT_REGION, environment_region
from intercom_identity.exceptions import MissingSecret, SecretUnavailable
from intercom_identity.models import Environment, Platform, PlatformConfig, RolloutPhase
from intercom_identity.selectors import environment_slug, get_platform_config, parse_platform

VERSION_KEY = "intercom_identity:config-version"
VERSION_CHECK_INTERVAL = 0.1  # seconds a process goes on with the version it last read


@dataclass(frozen=True)
class ServingConfig:
    """A read-only copy of one platform configuration and its environment, with the secret
    decrypted once (it stays out of ``repr()``)."""

    environment_id: int
    environment: str
    app_id: str
    platform: str
    phase: str
    credential_mode: str
    region: str = DEFAULT_REGION  # the workspace's data-hosting region (``regions``)
    _secret: str | None = field(default=None, repr=False, compare=False)
    _secret_problem: SecretUnavailable | None = field(default=None, repr=False, compare=False)

    @classmethod
    @sensitive_variables()
    def load(cls, config: PlatformConfig) -> ServingConfig:
        """Copy ``config`` (its environment loaded); decrypts the secret when the phase needs it."""
        secret, problem = None, None
        if RolloutPhase(config.phase).needs_secret:
            try:
                secret = config.secret()
            except SecretUnavailable as exc:
                problem = exc
        return cls(
            environment_id=config.environment_id,
            environment=config.environment.slug,
            app_id=config.environment.app_id,
            platform=config.platform,
            phase=config.phase,
            credential_mode=config.credential_mode,
            region=environment_region(config.environment),
            _secret=secret,
            _secret_problem=problem,
        )

    def secret(self) -> str:
        """The secret in use; raises ``SecretUnavailable`` like ``PlatformConfig.secret()``."""
        if self._secret_problem is not None:
            raise self._secret_problem
        if self._secret is None:
            raise MissingSecret(f"No Intercom secret is in use for {self.environment} / {self.platform}.")
        return self._secret


@dataclass(frozen=True)
class _Copy:
    config: ServingConfig
    version: tuple[str | None, str | None]  # (shared, environment's); None: the cache could not be read
    expires_at: float


_copies: dict[tuple[str, str], _Copy] = {}
# Per version key (the shared one and one per environment): (when read, the version).
_known_versions: dict[str, tuple[float, str | None]] = {}
_version_lock = threading.Lock()  # a slow read must not overwrite a newer bump
_thread = threading.local()  # .uncommitted: the database aliases where this thread changed it, uncommitted

# What a copy is validated against: (the shared version, its environment's version).
Versions = tuple[str | None, str | None]


def environment_version_key(environment: str) -> str:
    """The cache key of one environment's version: bumped by a change of that environment's
    platforms only, so the other environments' copies stay warm."""
    return f"{VERSION_KEY}:{environment}"


def get_serving_config(platform: Platform | str, environment: Environment | str | None = None) -> ServingConfig:
    """The configuration credentials are served from: this process's copy while it is current
    (no query), else loaded like ``lookups.get_platform_config`` (and kept, when it can be).

    One copy per environment and platform, each valid while both the shared version and its
    environment's version are the ones it was loaded under.

    Raises ``UnknownPlatform`` or ``UnknownEnvironment``; an unreadable secret is raised by
    ``ServingConfig.secret()``, when it is needed.
    """
    platform = parse_platform(platform)
    slug = environment_slug(environment)
    if _uncommitted_change():
        return ServingConfig.load(_load(slug, platform))
    versions = _current_versions(slug)  # read before loading: a change committed meanwhile bumps it again
    copy = _current_copy(slug, platform, versions)
    if copy is not None:
        return copy
    config = ServingConfig.load(_load(slug, platform))
    ttl = conf.CACHE_TTL
    if ttl > 0 and config._secret_problem is None:
        # Without the cache a copy lives no longer than a version read would: a change is still
        # served within VERSION_CHECK_INTERVAL, and a request does not read the database twice.
        readable = versions[0] is not None and versions[1] is not None
        lifetime = ttl if readable else min(ttl, VERSION_CHECK_INTERVAL)
        _copies[(slug, platform.value)] = _Copy(config, versions, time.monotonic() + lifetime)
    return config


def _current_copy(slug: str, platform: Platform, versions: Versions) -> ServingConfig | None:
    copy = _copies.get((slug, platform.value))
    if copy is not None and copy.version == versions and time.monotonic() < copy.expires_at:
        return copy.config
    return None


async def aget_serving_config(platform: Platform | str, environment: Environment | str | None = None) -> ServingConfig:
    """``get_serving_config`` for async code: the current copy without leaving the event loop
    (the version is read from the cache, as in sync code); a load from the database in a
    worker thread (``sync_to_async``) only when there is no current copy."""
    parsed = parse_platform(platform)
    slug = environment_slug(environment)
    if not _uncommitted_change():
        copy = _current_copy(slug, parsed, _current_versions(slug))
        if copy is not None:
            return copy
    return await sync_to_async(get_serving_config)(parsed, environment)


def _load(environment: str, platform: Platform) -> PlatformConfig:
    # From the database changes are written to: a lagging replica could otherwise hand an old
    # row to a process that has already read the new version, and it would keep it.
    return get_platform_config(platform, environment, using=router.db_for_write(PlatformConfig))


def config_changed(using: str = DEFAULT_DB_ALIAS, environment: str | None = None) -> None:
    """Tell every process the configuration changed: now in this thread, everywhere on commit.

    ``environment``: the slug of the only environment whose platforms changed (the copies of
    the others stay); None: anything may have changed (an environment row, the keys). ``save()``
    and ``delete()`` of the app's models call it through signals; call it after a queryset
    ``update()`` of ``PlatformConfig`` or ``Environment`` rows.
    """
    _drop_copies(environment)
    if transaction.get_connection(using).in_atomic_block:
        _uncommitted_aliases().add(using)
        # robust: a failing callback registered before this one must not cancel the bump.
        transaction.on_commit(lambda: _committed(using, environment), using=using, robust=True)
    else:
        _bump(environment)


def _drop_copies(environment: str | None) -> None:
    if environment is None:
        _copies.clear()
        return
    for key in [key for key in list(_copies) if key[0] == environment]:
        _copies.pop(key, None)


def forget() -> None:
    """Drop this process's copies and what it knows of the versions (both reload on next use)."""
    _copies.clear()
    with _version_lock:
        _known_versions.clear()
    _uncommitted_aliases().clear()


def _uncommitted_aliases() -> set[str]:
    aliases: set[str] | None = getattr(_thread, "uncommitted", None)
    if aliases is None:
        aliases = _thread.uncommitted = set()
    return aliases


def _committed(using: str, environment: str | None = None) -> None:
    _uncommitted_aliases().discard(using)
    _drop_copies(environment)
    _bump(environment)


def _uncommitted_change() -> bool:
    """Whether an open transaction of this thread changed the configuration (so nothing is shared)."""
    aliases = _uncommitted_aliases()
    if not aliases:
        return False
    for alias in list(aliases):
        if not transaction.get_connection(alias).in_atomic_block:
            aliases.discard(alias)  # that transaction ended without committing: its change is gone
    return bool(aliases)


def _current_versions(environment: str) -> Versions:
    """The shared version and ``environment``'s (each created when missing), as read at most
    ``VERSION_CHECK_INTERVAL`` ago, in one cache round trip; None for one that cannot be read."""
    now = time.monotonic()
    keys = (VERSION_KEY, environment_version_key(environment))
    known = [_known_versions.get(key) for key in keys]
    if all(entry is not None and now - entry[0] < VERSION_CHECK_INTERVAL for entry in known):
        return (known[0][1], known[1][1])  # type: ignore[index]
    try:
        found = cache.get_many(keys)
        for key in keys:
            if found.get(key) is None:  # never bumped yet: one version every process agrees on
                cache.add(key, uuid.uuid4().hex, timeout=None)
                found[key] = cache.get(key)
        values = [None if found.get(key) is None else str(found[key]) for key in keys]
    except CacheUnavailable:
        # Copies made before the outage must not come back with the old version afterwards.
        _copies.clear()
        values = [None, None]
    return (_know(keys[0], now, values[0]), _know(keys[1], now, values[1]))


def _bump(environment: str | None = None) -> None:
    """A new version (shared, or ``environment``'s), which this process knows at once."""
    key = VERSION_KEY if environment is None else environment_version_key(environment)
    version: str | None = uuid.uuid4().hex
    try:
        cache.set(key, version, timeout=None)
    except CacheUnavailable:  # the outage's record says what this means for other processes
        version = None
    _know(key, time.monotonic(), version)


def _know(key: str, read_at: float, version: str | None) -> str | None:
    """Remember ``version`` of ``key`` as read at ``read_at``, unless something newer is known already."""
    with _version_lock:
        known = _known_versions.get(key)
        if known is None or read_at >= known[0]:
            _known_versions[key] = known = (read_at, version)
        return known[1]


def request_finished() -> None:
    """Between requests a rolled-back change is over (with ATOMIC_REQUESTS, views never see it end)."""
    _uncommitted_change()


def setting_changed(setting: str) -> None:
    """Settings are per process (``override_settings`` in tests): a copy made under others goes."""
    if setting.startswith(PREFIX) or setting in {"SECRET_KEY", "DEBUG", "CACHES"}:
        forget()

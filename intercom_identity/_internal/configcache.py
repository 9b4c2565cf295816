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
    version: str | None  # None: loaded while the cache could not be read
    expires_at: float


_copies: dict[tuple[str, str], _Copy] = {}
_known_version: tuple[float, str | None] = (-VERSION_CHECK_INTERVAL, None)  # (when read, the version)
_version_lock = threading.Lock()  # a slow read must not overwrite a newer bump
_thread = threading.local()  # .uncommitted: the database aliases where this thread changed it, uncommitted


def get_serving_config(platform: Platform | str, environment: Environment | str | None = None) -> ServingConfig:
    """The configuration credentials are served from: this process's copy while it is current
    (no query), else loaded like ``lookups.get_platform_config`` (and kept, when it can be).

    Raises ``UnknownPlatform`` or ``UnknownEnvironment``; an unreadable secret is raised by
    ``ServingConfig.secret()``, when it is needed.
    """
    platform = parse_platform(platform)
    slug = environment_slug(environment)
    if _uncommitted_change():
        return ServingConfig.load(_load(slug, platform))
    version = _current_version()  # read before loading: a change committed meanwhile bumps it again
    copy = _current_copy(slug, platform, version)
    if copy is not None:
        return copy
    config = ServingConfig.load(_load(slug, platform))
    ttl = conf.CACHE_TTL
    if ttl > 0 and config._secret_problem is None:
        # Without the cache a copy lives no longer than a version read would: a change is still
        # served within VERSION_CHECK_INTERVAL, and a request does not read the database twice.
        lifetime = ttl if version is not None else min(ttl, VERSION_CHECK_INTERVAL)
        _copies[(slug, platform.value)] = _Copy(config, version, time.monotonic() + lifetime)
    return config


def _current_copy(slug: str, platform: Platform, version: str | None) -> ServingConfig | None:
    copy = _copies.get((slug, platform.value))
    if copy is not None and copy.version == version and time.monotonic() < copy.expires_at:
        return copy.config
    return None


async def aget_serving_config(platform: Platform | str, environment: Environment | str | None = None) -> ServingConfig:
    """``get_serving_config`` for async code: the current copy without leaving the event loop
    (the version is read from the cache, as in sync code); a load from the database in a
    worker thread (``sync_to_async``) only when there is no current copy."""
    parsed = parse_platform(platform)
    slug = environment_slug(environment)
    if not _uncommitted_change():
        copy = _current_copy(slug, parsed, _current_version())
        if copy is not None:
            return copy
    return await sync_to_async(get_serving_config)(parsed, environment)


def _load(environment: str, platform: Platform) -> PlatformConfig:
    # From the database changes are written to: a lagging replica could otherwise hand an old
    # row to a process that has already read the new version, and it would keep it.
    return get_platform_config(platform, environment, using=router.db_for_write(PlatformConfig))


def config_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Tell every process the configuration changed: now in this thread, everywhere on commit.

    ``save()`` and ``delete()`` of the app's models call it through signals; call it after a
    queryset ``update()`` of ``PlatformConfig`` or ``Environment`` rows.
    """
    _copies.clear()
    if transaction.get_connection(using).in_atomic_block:
        _uncommitted_aliases().add(using)
        # robust: a failing callback registered before this one must not cancel the bump.
        transaction.on_commit(lambda: _committed(using), using=using, robust=True)
    else:
        _bump()


def forget() -> None:
    """Drop this process's copies and what it knows of the version (both reload on next use)."""
    global _known_version
    _copies.clear()
    _known_version = (-VERSION_CHECK_INTERVAL, None)
    _uncommitted_aliases().clear()


def _uncommitted_aliases() -> set[str]:
    aliases: set[str] | None = getattr(_thread, "uncommitted", None)
    if aliases is None:
        aliases = _thread.uncommitted = set()
    return aliases


def _committed(using: str) -> None:
    _uncommitted_aliases().discard(using)
    _copies.clear()
    _bump()


def _uncommitted_change() -> bool:
    """Whether an open transaction of this thread changed the configuration (so nothing is shared)."""
    aliases = _uncommitted_aliases()
    if not aliases:
        return False
    for alias in list(aliases):
        if not transaction.get_connection(alias).in_atomic_block:
            aliases.discard(alias)  # that transaction ended without committing: its change is gone
    return bool(aliases)


def _current_version() -> str | None:
    """The shared version (created when missing), as read at most ``VERSION_CHECK_INTERVAL``
    ago; None when the cache cannot be read."""
    now = time.monotonic()
    read_at, version = _known_version
    if now - read_at < VERSION_CHECK_INTERVAL:
        return version
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)
    except CacheUnavailable:
        # Copies made before the outage must not come back with the old version afterwards.
        _copies.clear()
        version = None
    return _know(now, None if version is None else str(version))


def _bump() -> None:
    """A new shared version, which this process knows at once."""
    version: str | None = uuid.uuid4().hex
    try:
        cache.set(VERSION_KEY, version, timeout=None)
    except CacheUnavailable:  # the outage's record says what this means for other processes
        version = None
    _know(time.monotonic(), version)


def _know(read_at: float, version: str | None) -> str | None:
    """Remember ``version`` as read at ``read_at``, unless something newer is known already."""
    global _known_version
    with _version_lock:
        if read_at >= _known_version[0]:
            _known_version = (read_at, version)
        return _known_version[1]


def request_finished() -> None:
    """Between requests a rolled-back change is over (with ATOMIC_REQUESTS, views never see it end)."""
    _uncommitted_change()


def setting_changed(setting: str) -> None:
    """Settings are per process (``override_settings`` in tests): a copy made under others goes."""
    if setting.startswith(PREFIX) or setting in {"SECRET_KEY", "DEBUG", "CACHES"}:
        forget()

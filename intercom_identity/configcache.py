"""The configuration a credential is served from, kept decrypted per process.

Serving a credential needs one (environment, platform) configuration: phase, credential
mode, app id and the decrypted secret. Reading it costs a query and a Fernet decrypt,
about 250 times the HMAC itself, so each process keeps a copy, trusted while:

- the version number in Django's cache (shared by every process when the cache is Redis
  or Memcached) is the one the copy was loaded under. Every change of an ``Environment`` or
  ``PlatformConfig`` row bumps it when its transaction commits (``save()`` and ``delete()``
  through signals, queryset updates through ``config_changed()``). A process reads the
  version at most every ``VERSION_CHECK_INTERVAL`` seconds (a cache round trip on every
  request would cost more than the rest of the JSON view), so every process serves a change
  within that interval of its commit, and the process that made it at once;
- and it is younger than ``INTERCOM_IDENTITY_CACHE_TTL`` seconds: the backstop for a
  change the version never heard of (raw SQL, a cache flushed of the bump). 0 turns the
  copies off.

A cache that cannot be read means no copy made with a version is trusted: the configuration
is read from the database at most every ``VERSION_CHECK_INTERVAL`` (the cache calls go
through ``cacheguard``, which also logs the outage).
A change that is not committed yet is only seen by the thread that made it (uncached), and
never shared, so a rolled-back change is never served.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.signals import request_finished, setting_changed
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables

from .cacheguard import CacheUnavailable, cache
from .conf import PREFIX, conf
from .exceptions import MissingSecret, SecretUnavailable
from .models import Environment, PlatformConfig, RolloutPhase

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


def serving_config(environment: str, platform: str, load: Callable[[], PlatformConfig]) -> ServingConfig:
    """The configuration of (``environment``, ``platform``): this process's copy while it is
    current, else ``load()``-ed from the database (and kept, when it can be)."""
    if _uncommitted_change():
        return ServingConfig.load(load())
    version = _current_version()  # read before loading: a change committed meanwhile bumps it again
    key = (environment, platform)
    copy = _copies.get(key)
    if copy is not None and copy.version == version and time.monotonic() < copy.expires_at:
        return copy.config
    config = ServingConfig.load(load())
    ttl = conf.CACHE_TTL
    if ttl > 0 and config._secret_problem is None:
        # Without the cache a copy lives no longer than a version read would: a change is still
        # served within VERSION_CHECK_INTERVAL, and a request does not read the database twice.
        lifetime = ttl if version is not None else min(ttl, VERSION_CHECK_INTERVAL)
        _copies[key] = _Copy(config, version, time.monotonic() + lifetime)
    return config


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


@receiver(post_save, sender=PlatformConfig, dispatch_uid="intercom_identity.config_saved")
@receiver(post_delete, sender=PlatformConfig, dispatch_uid="intercom_identity.config_deleted")
@receiver(post_save, sender=Environment, dispatch_uid="intercom_identity.environment_saved")
@receiver(post_delete, sender=Environment, dispatch_uid="intercom_identity.environment_deleted")
def _row_changed(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    config_changed(using)


@receiver(request_finished, dispatch_uid="intercom_identity.request_finished")
def _request_finished(**kwargs: Any) -> None:
    """Between requests a rolled-back change is over (with ATOMIC_REQUESTS, views never see it end)."""
    _uncommitted_change()


@receiver(setting_changed, dispatch_uid="intercom_identity.setting_changed")
def _setting_changed(setting: str, **kwargs: Any) -> None:
    """Settings are per process (``override_settings`` in tests): a copy made under others goes."""
    if setting.startswith(PREFIX) or setting in {"SECRET_KEY", "DEBUG", "CACHES"}:
        forget()

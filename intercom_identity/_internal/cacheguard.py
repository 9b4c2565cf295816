"""A circuit breaker around every call the app makes to Django's default cache: after an
error or time-out the process stops calling it for ``INTERCOM_IDENTITY_CACHE_COOLDOWN`` seconds,
so a hung cache costs one time-out per cool-down, not one per call. Import ``cache`` from here."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as _django_cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache  # redis-py itself is imported only when used

from intercom_identity._internal.outages import CACHE as OUTAGE
from intercom_identity.conf import PREFIX, conf

T = TypeVar("T")

CONSEQUENCE = (
    "{call} failed; serving without it (the configuration read from the database, no rate limits, "
    "recordings written through) and calling it again only {cooldown} s after each error. A configuration "
    "change made meanwhile reaches the processes that can still read the cache only when their copy "
    "expires (" + PREFIX + "CACHE_TTL)"
)


class CacheUnavailable(Exception):
    """The cache failed this call, or failed recently enough that it was not called."""


class _Circuit:
    """Closed (``open_until`` 0: every call goes to the cache) or open until a moment."""

    def __init__(self) -> None:
        self.open_until = 0.0
        self.lock = threading.Lock()


_circuit = _Circuit()


def _call(name: str, operation: Callable[[], T], answers: tuple[type[Exception], ...] = ()) -> T:
    """``operation()`` unless the circuit is open. ``answers`` are exceptions that are the
    cache's answer (``incr`` of a missing key), not its failure."""
    if _circuit.open_until:
        now = time.monotonic()
        with _circuit.lock:
            if now < _circuit.open_until:
                trial = False
            else:  # this call tries the cache; the others keep away until it has its answer
                _circuit.open_until = now + conf.CACHE_COOLDOWN
                trial = True
        if not trial:
            OUTAGE.served_without()
            raise CacheUnavailable(f"The cache is not called for {PREFIX}CACHE_COOLDOWN seconds after an error.")
    try:
        result = operation()
    except answers:
        _closed()
        raise
    except Exception as exc:
        cooldown = conf.CACHE_COOLDOWN
        if cooldown > 0:
            _circuit.open_until = time.monotonic() + cooldown
        OUTAGE.failed(exc, CONSEQUENCE.format(cooldown=f"{cooldown:g}", call=f"cache.{name}"))
        raise CacheUnavailable(f"cache.{name} failed: {type(exc).__name__}") from exc
    _closed()
    return result


def _closed() -> None:
    _circuit.open_until = 0.0
    OUTAGE.available()


class GuardedCache:
    """The cache calls the app makes, each through the circuit breaker. Each raises
    ``CacheUnavailable`` instead of the backend's error."""

    def get(self, key: str, default: Any = None) -> Any:
        return _call("get", lambda: _django_cache.get(key, default))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return _call("get_many", lambda: _django_cache.get_many(keys))

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        _call("set", lambda: _django_cache.set(key, value, timeout=timeout))

    def add(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> bool:
        return bool(_call("add", lambda: _django_cache.add(key, value, timeout=timeout)))

    def delete_many(self, keys: Iterable[str]) -> None:
        _call("delete_many", lambda: _django_cache.delete_many(keys))

    def incr(self, key: str) -> int:
        """Raises ``ValueError`` when the key is missing (an answer, not a failure)."""
        return int(_call("incr", lambda: _django_cache.incr(key), answers=(ValueError,)))

    def count(self, key: str, timeout: int) -> int:
        """Add one to the counter ``key`` (created expiring in ``timeout`` seconds): its new value.

        One round trip: on Django's Redis backend a pipeline ``SET key 0 EX timeout NX`` +
        ``INCR key`` on a client kept per backend; elsewhere one ``incr`` once the counter
        exists (``add`` too for the window's first request).
        """
        return _call("count", lambda: _count(key, timeout))


def _count(key: str, timeout: int) -> int:
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        pipeline = _redis_client(backend).pipeline(transaction=False)
        pipeline.set(full_key, 0, ex=timeout, nx=True)
        pipeline.incr(full_key)
        return int(pipeline.execute()[1])
    try:
        return int(backend.incr(key))
    except ValueError:  # the window's first request
        if backend.add(key, 1, timeout=timeout):
            return 1
        return int(backend.incr(key))  # another request created it meanwhile


# One redis-py client per backend object: Django's ``get_client()`` builds one per call.
_redis_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _redis_client(backend: RedisCache) -> Any:
    client = _redis_clients.get(backend)
    if client is None:
        client = _redis_clients[backend] = backend._cache.get_client(write=True)  # type: ignore[attr-defined]
    return client


cache = GuardedCache()


def forget() -> None:
    """Close the circuit and forget the outage (tests; a new cache configuration)."""
    _circuit.open_until = 0.0
    OUTAGE.forget()


def setting_changed(setting: str) -> None:
    """Another cache (``override_settings(CACHES=...)``) is another circuit."""
    if setting in {"CACHES", PREFIX + "CACHE_COOLDOWN"}:
        forget()

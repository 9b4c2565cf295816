"""A fixed-window request counter in Django's cache (shared by every worker when the cache is)."""

from __future__ import annotations

import time

from intercom_identity._internal.cacheguard import CacheUnavailable, cache


def retry_after(bucket: str, limit: int, *, window: int = 60) -> int | None:
    """Count one request in ``bucket``; seconds to wait when over ``limit`` per ``window``, else None.

    ``limit`` 0 means unlimited. The counter lives in the default cache, so the limit holds
    across processes when that cache is shared (Redis, Memcached). A cache that is down
    limits nothing (``cacheguard`` logs the outage): serving users beats refusing them all.
    """
    if limit <= 0:
        return None
    now = int(time.time())
    window_start = now - now % window
    key = f"intercom_identity:rate:{bucket}:{window_start}"
    try:
        count = _count(key, window)
    except CacheUnavailable:
        return None
    if count > limit:
        return window_start + window - now
    return None


def _count(key: str, window: int) -> int:
    """One cache round trip once the window's counter exists (the common case)."""
    try:
        return int(cache.incr(key))
    except ValueError:  # the window's first request
        if cache.add(key, 1, timeout=window + 1):
            return 1
        return int(cache.incr(key))  # another request created it meanwhile

"""Fixed-window request counters in Django's cache (shared by every worker when the cache is),
and which client a request counts against.

A request is counted in one bucket: its user's when it is signed in (many users behind one
address are not limited together), else its client address's. Counting costs one cache round
trip (``cacheguard.GuardedCache.count``: one pipeline on Redis, one ``incr`` elsewhere once the
window exists). The address comes from ``INTERCOM_IDENTITY_TRUSTED_PROXIES``: ``REMOTE_ADDR``
by default, which behind a load balancer is the balancer's own address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from typing import Any

from django.http import HttpRequest

from intercom_identity._internal.cacheguard import CacheUnavailable, cache
from intercom_identity.conf import conf

WINDOW = 60  # seconds: the limits are per minute

# The headers a proxy adds to say who its client was (the WSGI names).
FORWARDING_HEADERS = {
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "HTTP_FORWARDED": "Forwarded",
    "HTTP_X_REAL_IP": "X-Real-IP",
}
IPV6_PREFIX = 64  # one subscriber gets a /64: counting single IPv6 addresses limits nobody
IGNORED_FORWARDING_KEY = "intercom_identity:rate:ignored-forwarding:{source}"
IGNORED_FORWARDING_TIMEOUT = 24 * 3600


class _Sightings:
    """The forwarding header this process saw the address source ignore (check W014), per source."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}
        self.lock = threading.Lock()


_sightings = _Sightings()


def retry_after(bucket: str, limit: int, *, window: int = WINDOW) -> int | None:
    """Count one request in ``bucket``; seconds to wait when over ``limit`` per ``window``, else None.

    ``limit`` 0 means unlimited. A cache that is down limits nothing (``cacheguard`` logs the
    outage), unless ``INTERCOM_IDENTITY_RATE_LIMIT_FAIL_CLOSED`` says to refuse: then
    ``CacheUnavailable`` reaches the caller.
    """
    if limit <= 0:
        return None
    now = int(time.time())
    window_start = now - now % window
    try:
        count = cache.count(f"intercom_identity:rate:{bucket}:{window_start}", timeout=window + 1)
    except CacheUnavailable:
        if conf.RATE_LIMIT_FAIL_CLOSED:
            raise
        return None
    if count > limit:
        return window_start + window - now
    return None


def bucket(request: HttpRequest, endpoint: str, user: Any = None) -> str:
    """The one bucket a request is counted in: its user's when signed in, else its address's."""
    address, ignored = client_address(request)
    if ignored is not None:
        _saw_ignored(ignored)
    if user is not None and getattr(user, "pk", None) is not None:
        return f"{endpoint}:user:{user.pk}"
    return f"{endpoint}:addr:{address_bucket(address)}"


def client_address(request: HttpRequest) -> tuple[str, str | None]:
    """The client's address per ``TRUSTED_PROXIES``, and the forwarding header it ignored, if any.

    A configured source that is missing or holds no address (a request that did not come
    through the proxies) falls back to ``REMOTE_ADDR``: never to text a client chose.
    """
    meta = request.META
    source = conf.TRUSTED_PROXIES
    address: str | None = None
    if isinstance(source, str):
        address = _address(meta.get("HTTP_" + source.upper().replace("-", "_"), ""))
    elif source > 0:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:  # the last ``source`` hops were appended by the trusted proxies
            address = _address(hops[-source] if len(hops) >= source else hops[0])
    if address is not None:
        return address, None
    ignored = next((name for key, name in FORWARDING_HEADERS.items() if meta.get(key)), None)
    return meta.get("REMOTE_ADDR", "") or "", ignored


def _address(text: str) -> str | None:
    """``text`` as a normalised IP address (``[v6]:port`` and ``v4:port`` allowed), or None."""
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # 203.0.113.7:5000
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def address_bucket(address: str) -> str:
    """IPv4 as is, IPv6 per /64 (an IPv4-mapped one as its IPv4); anything else as one bucket."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def _saw_ignored(header: str) -> None:
    """Remember, once per process and address source, a forwarding header the source ignored,
    in the process and in the cache (``manage.py check`` runs in another process)."""
    source = str(conf.TRUSTED_PROXIES)
    if source in _sightings.seen:
        return
    with _sightings.lock:
        if source in _sightings.seen:
            return
        _sightings.seen[source] = header
    with contextlib.suppress(CacheUnavailable):  # this process still knows
        cache.set(IGNORED_FORWARDING_KEY.format(source=source), header, timeout=IGNORED_FORWARDING_TIMEOUT)


def ignored_forwarding_header() -> str | None:
    """A forwarding header requests carried while the address came from ``REMOTE_ADDR`` under
    the current setting: seen by this process, or by any process sharing the cache (a day)."""
    source = str(conf.TRUSTED_PROXIES)
    if source in _sightings.seen:
        return _sightings.seen[source]
    try:
        header = cache.get(IGNORED_FORWARDING_KEY.format(source=source))
    except CacheUnavailable:
        return None
    return header if isinstance(header, str) and header in FORWARDING_HEADERS.values() else None


def forget_sightings() -> None:
    """Tests: forget the forwarding headers this process saw."""
    _sightings.seen.clear()

"""The messenger's first-party cookies (``intercom-session-<app_id>``, ``intercom-id-<app_id>``),
and how to expire them on the host and each parent domain. The device id is left alone."""

from __future__ import annotations

import ipaddress
import re
from http.cookies import Morsel

from intercom_identity.validators import APP_ID_RE

COOKIE_PREFIXES = ("intercom-session-", "intercom-id-")
MAX_PARENT_DOMAINS = 10  # a host has rarely more labels; bounds the headers of one response
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"

# The identity the messenger was last rendered with in this browser (``tag.identity_marker``: an
# HMAC, "" for a visitor): the server alone can tell that the identity changed, whatever the
# browser stores.
MARKER_COOKIE = "intercom_identity_marker"
MARKER_RE = re.compile(r"[0-9a-f]{32}|")
MARKER_COOKIE_AGE = 270 * 24 * 3600  # as long as Intercom's visitor cookie (intercom-id) lives


def messenger_cookie_names(app_id: str) -> tuple[str, ...]:
    """The session and visitor cookie names for ``app_id``; none for an unusable app id."""
    if not APP_ID_RE.match(app_id):
        return ()
    return tuple(prefix + app_id for prefix in COOKIE_PREFIXES)


def cookie_domains(host: str, configured: str | None = None) -> list[str | None]:
    """The Domain attributes to expire on: ``configured`` alone when set; else None (host-only)
    and the host and each of its parent domains of at least two labels."""
    if configured:
        return [configured]
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [None]  # an address has no parent domains
    labels = host.split(".")
    parents = [".".join(labels[index:]) for index in range(len(labels) - 1)]
    return [None, *parents[-MAX_PARENT_DOMAINS:]]


def expired_cookie(name: str, domain: str | None, *, secure: bool) -> Morsel[str]:
    """A ``Set-Cookie`` that expires ``name`` on ``domain`` (host-only when None), path ``/``."""
    morsel: Morsel[str] = Morsel()
    morsel.set(name, "", '""')
    morsel["expires"] = EXPIRED
    morsel["max-age"] = 0
    morsel["path"] = "/"
    morsel["samesite"] = "Lax"
    if domain:
        morsel["domain"] = domain
    if secure:
        morsel["secure"] = True
    return morsel

"""The messenger's first-party cookies, and how to expire them.

Intercom keeps the web messenger's session in cookies on the site's own domain:
``intercom-session-<app_id>`` (the session, a week, renewed by each ping of a signed-in
user) and ``intercom-id-<app_id>`` (the visitor id). ``intercom-device-id-<app_id>`` names
the device against abuse and says nothing about who used it: it is left alone.

Intercom sets them on the site's top domain (so conversations follow a user across
subdomains), and a browser only replaces a cookie given the same name, domain and path.
When the domain is not configured it is not known here: the expiry is sent host-only and
for the host and each parent domain, and the browser drops those that do not apply.
"""

from __future__ import annotations

import ipaddress
from http.cookies import Morsel

from intercom_identity.validators import APP_ID_RE

COOKIE_PREFIXES = ("intercom-session-", "intercom-id-")
MAX_PARENT_DOMAINS = 10  # a host has rarely more labels; bounds the headers of one response
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


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

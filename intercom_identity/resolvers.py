"""Which environment (Intercom workspace) a request is served from.

``resolve_environment(request)`` is the one place every serving path asks: the JSON views,
the template tags, the emulator and login integrations. It calls
``INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER`` (None: every request gets
``INTERCOM_IDENTITY_ENVIRONMENT``, with no other work) and refuses a slug this deployment
does not serve (``UnservedEnvironment``), so a request can never get another environment's
credential. The two ready-made resolvers below cover the debug-build and multi-brand recipes.
"""

from __future__ import annotations

from typing import Any

from django.http.request import split_domain_port

from intercom_identity.conf import conf
from intercom_identity.exceptions import UnservedEnvironment

ENVIRONMENT_HEADER = "X-Intercom-Environment"
MAX_SLUG_LENGTH = 100  # a longer header value is no slug: refused without echoing it whole

# Where a request keeps its resolved slug, so the view and the tags of one request agree (and
# the resolver runs once).
_ATTRIBUTE = "_intercom_identity_environment"


def header_environment(request: Any) -> str | None:
    """The ``X-Intercom-Environment`` header (for a debug build of the app); None when absent or blank."""
    value = request.headers.get(ENVIRONMENT_HEADER, "").strip()
    return value or None


def host_environment(request: Any) -> str | None:
    """The environment ``INTERCOM_IDENTITY_ENVIRONMENT_HOSTS`` maps the request's host to (the
    port ignored); None for any other host. ``get_host()`` checks ``ALLOWED_HOSTS`` first."""
    host, _port = split_domain_port(request.get_host())
    return conf.ENVIRONMENT_HOSTS.get(host)


def resolve_environment(request: Any) -> str:
    """The slug of the environment ``request`` is served from; raises ``UnservedEnvironment``
    (a subclass of ``UnknownEnvironment``) when the resolver names one this deployment does not
    serve. Without a request (a management command, a task) it is the default environment."""
    resolver = conf.ENVIRONMENT_RESOLVER
    if resolver is None or request is None:
        return conf.ENVIRONMENT
    resolved: str | None = getattr(request, _ATTRIBUTE, None)
    if resolved is not None:
        return resolved
    slug = resolver(request)
    if slug is None:
        slug = conf.ENVIRONMENT
    elif not isinstance(slug, str) or slug not in conf.served_environments():
        raise UnservedEnvironment(str(slug)[:MAX_SLUG_LENGTH])
    setattr(request, _ATTRIBUTE, slug)
    return slug

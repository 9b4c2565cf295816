"""The demo's URLs plus ``/csp/``: a page with ``{% intercom_messenger %}`` under a strict CSP."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from project.urls import urlpatterns as demo_urlpatterns

PAGE = engines["django"].from_string(
    "{% load intercom_identity %}<!doctype html><html><head><title>CSP</title>"
    "{% intercom_messenger %}</head><body><p>A page under a strict CSP.</p></body></html>"
)


def strict_csp_page(request: HttpRequest) -> HttpResponse:
    """What django-csp (``request.csp_nonce``) or Django 6 would do: a fresh nonce per response,
    and no script allowed without it."""
    nonce = secrets.token_urlsafe(16)
    request.csp_nonce = nonce  # type: ignore[attr-defined]
    response = HttpResponse(PAGE.render({}, request))
    response["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return response


urlpatterns = [path("csp/", strict_csp_page), *demo_urlpatterns]

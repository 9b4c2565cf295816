"""The messenger settings under Django 6's Content Security Policy, in Chromium.

The demo's home page (``{% intercom_messenger %}``: the settings and the messenger's script, which
adds Intercom's widget; and an inline script of the page's own) is served under Django's
``ContentSecurityPolicyMiddleware`` with a strict policy: scripts run only with the response's nonce,
no ``'unsafe-inline'``, not even ``'self'``. With the ``csp`` context processor the tag's script carries
the nonce, runs (``window.intercomSettings`` is set, the widget loads) and Chromium reports no
violation; without it (the
nonce removed) the same page is refused, and Chromium says so. Needs Django 6.0 or newer: the matrix's
Python 3.13 + Django 6.1 environments run it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from copy import deepcopy
from typing import Any

import django
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings

from intercom_identity.models import Environment, RolloutPhase
from tests.browser.helpers import log_in_browser
from tests.helpers import SECRETS, configure

if django.VERSION < (6, 0):
    pytest.skip(
        f"Django's own CSP middleware is new in Django 6.0; this is Django {django.get_version()}",
        allow_module_level=True,
    )

from django.utils.csp import CSP

pytestmark = pytest.mark.django_db(transaction=True)

STRICT = {
    "default-src": [CSP.SELF],  # the demo's stylesheet; scripts are script-src's alone
    "script-src": [CSP.NONCE, CSP.REPORT_SAMPLE],  # report-sample: the violation quotes the refused script
    "base-uri": [CSP.NONE],
}
# Set before any script of the page runs (Playwright's init scripts are not subject to the page's CSP).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(
  {directive: event.effectiveDirective, sample: event.sample, disposition: event.disposition}));
"""
WIDGET = "window.__widgetRan = true;"
# Violation events are queued tasks: read them once the page has settled.
VIOLATIONS = "() => new Promise((done) => setTimeout(() => done(window.__violations), 200))"


def templates(*, nonce: bool) -> list[dict[str, Any]]:
    """The suite's template settings, with Django's ``csp`` context processor or without it."""
    result = deepcopy(settings.TEMPLATES)
    if nonce:
        result[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
    return result


@pytest.fixture
def signed_in(page: Any, live_server: Any) -> Any:
    # The messenger's script adds Intercom's widget with the nonce: answered here (no network), it
    # records that it ran.
    page.route(
        "https://widget.intercom.io/**",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=WIDGET),
    )
    Environment.objects.filter(slug="development").update(app_id="csp_app")
    configure("development", "web", RolloutPhase.SENDING)
    user = get_user_model().objects.create_user("csp-jane", "csp-jane@example.com", "pw")
    log_in_browser(page, live_server, user)
    return user


@pytest.fixture
def console(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.add_init_script(LISTEN)
    return messages


def csp_messages(console: list[str]) -> list[str]:
    return [text for text in console if "Content Security Policy" in text]


def test_the_tag_runs_under_a_strict_nonce_policy(page: Any, live_server: Any, signed_in: Any, console: Any) -> None:
    with override_settings(SECURE_CSP=STRICT, TEMPLATES=templates(nonce=True)):
        response = page.goto(live_server.url + "/")
        page.wait_for_function("() => window.__widgetRan === true")  # the widget, added with the nonce, ran
        violations = page.evaluate(VIOLATIONS)
        settings_seen = page.evaluate("() => window.intercomSettings")
        tag_nonce = page.evaluate("() => document.head.querySelector('script').nonce")
        shown = page.text_content("#settings")

    policy = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src, policy
    assert "'unsafe-inline'" not in script_src[1]
    assert "'self'" not in script_src[1]  # not even this site's own scripts: the nonce alone
    header_nonce = re.search(r"'nonce-([^']+)'", script_src[1])
    assert header_nonce, policy
    assert tag_nonce == header_nonce[1]  # the tag's script carries this response's nonce
    assert settings_seen["app_id"] == "csp_app"
    expected = hmac.new(SECRETS[("development", "web")].encode(), str(signed_in.pk).encode(), hashlib.sha256)
    assert settings_seen["user_hash"] == expected.hexdigest()
    assert "csp_app" in shown  # the page's own inline script ran too
    assert violations == []
    assert csp_messages(console) == []


def test_without_the_nonce_chromium_refuses_the_tags_script(
    page: Any, live_server: Any, signed_in: Any, console: Any
) -> None:
    with override_settings(SECURE_CSP=STRICT, TEMPLATES=templates(nonce=False)):
        page.goto(live_server.url + "/")
        violations = page.evaluate(VIOLATIONS)
        defined = page.evaluate("() => typeof window.intercomSettings")

    assert defined == "undefined"
    refused_tag = [
        violation
        for violation in violations
        if violation["directive"].startswith("script-src") and violation["sample"].startswith("window.intercomSettings")
    ]
    assert refused_tag, violations
    assert refused_tag[0]["disposition"] == "enforce"
    assert csp_messages(console), console

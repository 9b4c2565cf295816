"""Content Security Policy: the tag's script carries the response's nonce, and the demo site sends a policy.

Django 6.0 brought its own CSP (``ContentSecurityPolicyMiddleware``, the ``csp`` context processor); its
nonce is lazy and *falsy until first read*, so a tag testing it for truth would leave it off.
``tests/browser/test_csp.py`` shows the same in Chromium.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template import RequestContext, Template
from django.test import Client, RequestFactory, override_settings

from intercom_identity.models import Environment

ROOT = Path(__file__).resolve().parent.parent
NEEDS_DJANGO_6 = pytest.mark.skipif(
    django.VERSION < (6, 0),
    reason=f"Django's own CSP is new in Django 6.0; this is Django {django.get_version()}",
)
SCRIPT_TAGS = re.compile(r"<script\b[^>]*>")
NONCE_IN_POLICY = re.compile(r"script-src [^;]*'nonce-([^']+)'")


def templates_with_csp_processor() -> list[dict[str, Any]]:
    templates = deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
    return templates


@NEEDS_DJANGO_6
@pytest.mark.django_db
def test_the_tag_puts_djangos_nonce_on_its_script(client: Client) -> None:
    from django.utils.csp import CSP

    Environment.objects.filter(slug="development").update(app_id="abc12def")
    with override_settings(SECURE_CSP={"script-src": [CSP.NONCE]}, TEMPLATES=templates_with_csp_processor()):
        response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    nonce = NONCE_IN_POLICY.search(policy)
    assert nonce, policy
    html = response.content.decode()
    tag = html[html.index("<script") : html.index("window.intercomSettings")]
    assert tag == f'<script nonce="{nonce[1]}">'


@NEEDS_DJANGO_6
@pytest.mark.django_db
def test_the_nonce_is_read_although_it_is_falsy_until_then() -> None:
    """The case the tag used to get wrong: Django's LazyNonce is false until something reads it."""
    from django.utils.csp import LazyNonce

    lazy = LazyNonce()
    assert not lazy
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    html = Template("{% load intercom_identity %}{% intercom_settings %}").render(
        RequestContext(request, {"csp_nonce": lazy})
    )
    assert html.startswith(f'<script nonce="{lazy}">')


DEMO_PAGE = """
import json
import django
from django.test import Client
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()
response = Client().get("/")
print(json.dumps({"policy": response.headers.get("Content-Security-Policy"), "html": response.content.decode()}))
"""


def demo_home_page(tmp_path: Path) -> dict[str, Any]:
    """The demo's home page as ``project.settings`` serves it (in a process of its own, on a fresh database)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    env.pop("INTERCOM_IDENTITY_ENCRYPTION_KEYS", None)
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120, "check": False}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)  # type: ignore[call-overload]
    assert migrated.returncode == 0, migrated.stderr
    app_id = subprocess.run(
        [sys.executable, "manage.py", "intercom_identity", "set-app-id", "development", "demo_app"], **run
    )  # type: ignore[call-overload]
    assert app_id.returncode == 0, app_id.stderr  # without one the messenger renders nothing
    served = subprocess.run([sys.executable, "-c", DEMO_PAGE], **run)  # type: ignore[call-overload]
    assert served.returncode == 0, served.stderr
    return json.loads(served.stdout)  # type: ignore[no-any-return]


def test_the_demo_site_sends_djangos_policy_on_django_6_and_none_on_5_2(tmp_path: Path) -> None:
    page = demo_home_page(tmp_path)
    scripts = SCRIPT_TAGS.findall(page["html"])
    assert len(scripts) == 3  # the messenger's settings and script, and the page's own
    if django.VERSION < (6, 0):
        assert page["policy"] is None
        return
    policy = page["policy"]
    assert "'unsafe-inline'" not in policy
    assert "object-src 'none'" in policy
    nonce = NONCE_IN_POLICY.search(policy)
    assert nonce, policy
    assert scripts == [f'<script nonce="{nonce[1]}">'] * 3

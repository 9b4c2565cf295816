"""Content Security Policy: the demo site sends Django's policy (Django 6.0 and later), and every script on
its page carries the policy's nonce. The tag's side: ``tests/messenger/test_tag.py``; in Chromium:
``tests/browser/test_csp.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import django

from tests.helpers import NONCE_IN_POLICY

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_TAGS = re.compile(r"<script\b[^>]*>")


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
    # The messenger's settings, its session script (a static file) and bootstrap, the demo's JSON-box script
    # (a static file) and the page's own.
    assert len(scripts) == 5
    if django.VERSION < (6, 0):
        assert page["policy"] is None
        return
    policy = page["policy"]
    assert "'unsafe-inline'" not in policy
    assert "object-src 'none'" in policy
    nonce = NONCE_IN_POLICY.search(policy)
    assert nonce, policy
    own = f'<script nonce="{nonce[1]}">'
    assert [re.sub(r' src="[^"]*"', "", script) for script in scripts] == [own] * 5
    assert scripts[1] == f'<script src="/static/intercom_identity/messenger.js" nonce="{nonce[1]}">'
    assert f'<script src="/static/project/demo.js" nonce="{nonce[1]}">' in scripts

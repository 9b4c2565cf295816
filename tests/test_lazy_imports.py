"""A worker imports only what it serves: optional and heavy libraries load where they are used.

``bench/memory.py`` measures what this keeps (docs/performance.md, "A worker's memory"). Started
in a fresh interpreter: the suite's own process has imported everything long before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The demo project started as a worker starts it: settings, apps (the admin's autodiscovery), URLconf.
SCRIPT = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted(sys.modules)))
"""

NOT_AT_START_UP = (
    "cryptography",  # decrypting a stored secret (about 7 MiB)
    "jwt",  # JWT platforms and the emulator
    "httpx",
    "intercom",  # the workspace SDK
    "rest_framework",
    "rest_framework_simplejwt",
    "allauth",
    "djoser",
    "knox",
    "django_tasks",
    "hypothesis",
    "intercom_identity.contrib",
    "intercom_identity.workspace.client",
    "intercom_identity.workspace.sync",
    "intercom_identity.credentials.emulator",
    "intercom_identity.credentials.verification",
)


def test_start_up_imports_no_optional_library() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("INTERCOM_IDENTITY_")}
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL="sqlite://:memory:",
        DEBUG="False",
        SECRET_KEY="test-lazy-imports-" + "x" * 40,
        INTERCOM_IDENTITY_ENCRYPTION_KEYS="",
        PYTHONPATH=str(ROOT),
    )
    env.pop("CACHE_URL", None)
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    modules = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "intercom_identity.admin" in modules  # the admin was loaded: the check means something
    loaded = [m for m in modules if any(m == name or m.startswith(name + ".") for name in NOT_AT_START_UP)]
    assert loaded == [], loaded

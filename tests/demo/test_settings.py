"""The demo reads every setting of the app from the environment (as README, Settings, says)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from intercom_identity.conf import DEFAULTS, PREFIX

ROOT = Path(__file__).resolve().parents[2]

# A value of each setting that differs from its default, as an environment variable holds it.
VALUES = {
    "ENVIRONMENT": ("production", "production"),
    "SERVED_ENVIRONMENTS": ("development,staging", ["development", "staging"]),
    "ENVIRONMENT_RESOLVER": (
        "intercom_identity.resolvers.header_environment",
        "intercom_identity.resolvers.header_environment",
    ),
    "ENVIRONMENT_HOSTS": ("brand-a.example.com=development", {"brand-a.example.com": "development"}),
    "USER_ID": ("tests.helpers.no_user_id", "tests.helpers.no_user_id"),
    "USER_EMAIL": ("tests.helpers.no_user_id", "tests.helpers.no_user_id"),
    "AUTHENTICATE": ("tests.helpers.no_user_id", "tests.helpers.no_user_id"),
    "JWT_EXPIRY": ("300", 300),
    "JWT_SIGNED_FIELDS": ("email,first_name", ["email", "first_name"]),
    "VERIFY_IN_PRODUCTION": ("true", True),
    "VERIFY_RATE_LIMIT": ("7", 7),
    "ENFORCE_THRESHOLD": ("0.8", 0.8),
    "HASH_RATE_LIMIT": ("9", 9),
    "CACHE_TTL": ("5", 5),
    "CACHE_COOLDOWN": ("2.5", 2.5),
    "COOKIE_DOMAIN": (".example.com", ".example.com"),
    "API_BASE_URL": ("http://127.0.0.1:9/", "http://127.0.0.1:9/"),
    "WORKSPACE_STALE_HOURS": ("6", 6),
    "SENDING_EVIDENCE_SHARE": ("0.25", 0.25),
    "SENDING_EVIDENCE_USERS": ("3", 3),
    "WEB_SOAK": ("3600", 3600),
    "MAX_NEW_VERSIONS_PER_USER": ("5", 5),
    "ACTIVITY_RETENTION_DAYS": ("120", 120),
    "TRUSTED_PROXIES": ("2", 2),  # a count; a header name stays text (below)
    "RATE_LIMIT_FAIL_CLOSED": ("true", True),
    "DEADLINE": ("2027-03-01", "2027-03-01"),
    "SECRET_RETIRE_AFTER_HOURS": ("48", 48),
}
# Read by their own code: a list of keys, secrets by pair (tests/test_conf.py) and
# API tokens by environment (tests/workspace/test_tokens.py).
NOT_SCALAR = {"ENCRYPTION_KEYS", "SECRETS", "API_TOKENS"}


def demo_settings(environ: dict[str, str]) -> dict[str, object]:
    names = sorted(PREFIX + name for name in DEFAULTS)
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, '<default>') for n in {names!r}}}))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(PREFIX)}
    env.update(environ, DJANGO_SETTINGS_MODULE="project.settings", DATABASE_URL="sqlite://:memory:")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_every_scalar_setting_comes_from_its_variable() -> None:
    assert set(VALUES) == set(DEFAULTS) - NOT_SCALAR  # a new setting must be wired into the demo
    got = demo_settings({PREFIX + name: text for name, (text, _value) in VALUES.items()})
    assert {name: got[PREFIX + name] for name in VALUES} == {name: value for name, (_text, value) in VALUES.items()}


def test_unset_or_empty_variables_keep_the_apps_defaults() -> None:
    got = demo_settings({PREFIX + "JWT_EXPIRY": "", PREFIX + "COOKIE_DOMAIN": " "})
    assert got[PREFIX + "JWT_EXPIRY"] == "<default>"
    assert got[PREFIX + "COOKIE_DOMAIN"] == "<default>"
    assert got[PREFIX + "ENVIRONMENT"] == "development"


def test_trusted_proxies_may_name_a_header() -> None:
    got = demo_settings({PREFIX + "TRUSTED_PROXIES": "X-Real-IP"})
    assert got[PREFIX + "TRUSTED_PROXIES"] == "X-Real-IP"

"""The Intercom API token of an environment (write-only, encrypted, rotated, or from settings),
the workspace settings and system checks, and what never runs while a credential is served
(reading Intercom with the token is tests/workspace/test_client.py's)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.checks import Warning
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from intercom_identity.checks import check_settings, check_workspace_drift
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import AuditEvent, Environment, RolloutPhase, WorkspaceSnapshot
from intercom_identity.rollout.changes import ApiTokenManagedBySettings, store_api_token
from intercom_identity.workspace import client as intercom_api
from intercom_identity.workspace import sync as workspace
from tests import leakguard
from tests.helpers import assert_terminal_safe, configure
from tests.helpers import run as command
from tests.intercom_fake import TOKENS, FakeIntercom, ago

pytestmark = pytest.mark.django_db

STORED = "dG9rOnN0b3JlZC0xMTExLTIyMjItMzMzMy00NDQ0NTU1NTY2NjY6MTow"
leakguard.remember_secret(STORED)


def run(*args: str, stdin: str | None = None) -> str:
    """The command's output, which the leak guard also checks for the tokens."""
    out = command(*args, stdin=stdin)
    leakguard.record("command output", out)
    return out


def production() -> Environment:
    return Environment.objects.get(slug="production")


# --- storing the token ------------------------------------------------------------------


@pytest.mark.parametrize("stdin", [STORED, STORED + "\n"])
def test_set_api_token_reads_stdin_encrypts_and_prints_the_fingerprint_only(stdin: str) -> None:
    assert run("set-api-token", "production", stdin=stdin) == fingerprint(STORED) + "\n"
    env = production()
    assert env.api_token() == STORED
    assert STORED not in env.encrypted_api_token
    assert env.api_token_fingerprint == fingerprint(STORED)
    event = AuditEvent.objects.get(kind="api_token")
    assert (event.environment, event.platform, event.from_value, event.to_value) == (
        "production",
        "",
        "",
        fingerprint(STORED),
    )


@pytest.mark.parametrize("stdin", ["", " " + STORED, STORED + " ", "tok\ten", "tøken-ünicode"])
def test_set_api_token_refuses_paste_mistakes(stdin: str) -> None:
    with pytest.raises(CommandError) as excinfo:
        run("set-api-token", "production", stdin=stdin)
    assert "API token" in str(excinfo.value)
    assert not production().has_api_token


def test_clear_api_token() -> None:
    run("set-api-token", "production", stdin=STORED)
    assert fingerprint(STORED) in run("clear-api-token", "production", "--reason", "leaving Intercom")
    env = production()
    assert (env.encrypted_api_token, env.api_token_fingerprint, env.api_token_set_at) == ("", "", None)
    assert AuditEvent.objects.filter(kind="api_token", to_value="", reason="leaving Intercom").exists()


def test_a_token_from_settings_wins_and_cannot_be_stored(settings: Any) -> None:
    run("set-api-token", "production", stdin=STORED)
    settings.INTERCOM_IDENTITY_API_TOKENS = {"production": TOKENS["production"]}
    env = production()
    assert env.api_token() == TOKENS["production"]
    assert env.api_token_in_use_fingerprint == fingerprint(TOKENS["production"])
    with pytest.raises(ApiTokenManagedBySettings):
        store_api_token(env, STORED)
    with pytest.raises(CommandError, match="managed by settings"):
        run("set-api-token", "production", stdin=STORED)


def test_rotate_keys_re_encrypts_the_token() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[old]):
        run("set-api-token", "production", stdin=STORED)
        configure("production", "ios")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[new, old]):
        assert "Rotated 1 platform configuration(s) and 1 API token(s)" in run("rotate-keys")
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[new]):
        assert production().api_token() == STORED


def test_an_unreadable_token_stops_the_rotation_and_the_sync() -> None:
    stray, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[stray]):
        run("set-api-token", "production", stdin=STORED)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=[new]):
        with pytest.raises(CommandError, match=r"Nothing was rotated.*the API token of Production"):
            run("rotate-keys")
        with pytest.raises(CommandError, match="cannot be decrypted") as excinfo:
            run("workspace", "production")
        assert excinfo.value.returncode == 2


def test_no_repr_or_str_shows_the_token(settings: Any) -> None:
    run("set-api-token", "production", stdin=STORED)
    env = production()
    texts = [repr(env), str(env), repr(vars(env)), str(workspace.NoApiToken("x"))]
    for text in texts:
        leakguard.record("repr", text)
        assert STORED not in text


# --- settings and checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("API_TOKENS", "a-token", "E018"),
        ("API_TOKENS", {"Production": "tok"}, "E018"),
        ("API_TOKENS", {"production": 42}, "E018"),
        ("API_TOKENS", {"production": "tok with space"}, "E018"),
        ("API_BASE_URL", "api.intercom.io", "E019"),
        ("API_BASE_URL", "ftp://api.intercom.io", "E019"),
        ("API_BASE_URL", "https://user:hunter2@proxy.example.com", "E019"),
        ("WORKSPACE_STALE_HOURS", 0, "E020"),
        ("WORKSPACE_STALE_HOURS", "24", "E020"),
    ],
)
def test_malformed_workspace_settings(name: str, value: object, check_id: str) -> None:
    with override_settings(**{f"INTERCOM_IDENTITY_{name}": value}):
        messages = check_settings()
    assert [m.id for m in messages] == [f"intercom_identity.{check_id}"]
    assert "tok with space" not in messages[0].msg
    assert "hunter2" not in messages[0].msg


@override_settings(INTERCOM_IDENTITY_API_BASE_URL="https://proxy.example.com/intercom/")
def test_a_base_url_overrides_the_region() -> None:
    assert workspace.base_url(production()) == "https://proxy.example.com/intercom"


def test_the_check_reports_stored_drift_without_calling_intercom(intercom: FakeIntercom, monkeypatch: Any) -> None:
    WorkspaceSnapshot.objects.create(
        environment=production(), fetched_at=ago(hours=1), identity_verification=True, app_id_code="prodapp1"
    )
    WorkspaceSnapshot.objects.create(
        environment=Environment.objects.get(slug="development"),
        fetched_at=ago(hours=30),
        identity_verification=False,
        app_id_code="devapp01",
    )

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a system check called Intercom")

    monkeypatch.setattr(intercom_api, "read_workspace", no_network)
    monkeypatch.setattr(workspace, "read_workspace", no_network)
    messages = check_workspace_drift(databases=["default"])
    assert [(m.id, m.msg.split(":")[0]) for m in messages] == [
        ("intercom_identity.W005", "production"),
        ("intercom_identity.W006", "development"),
    ]
    assert all(isinstance(m, Warning) for m in messages)
    assert "intercom_enforces_unrecorded" in messages[0].msg
    assert "sync_stale" in messages[1].msg
    assert intercom.requests() == []
    # Through manage.py check too (a database check: it runs with --database, and in migrate).
    err = io.StringIO()
    call_command("check", "--database", "default", stderr=err, stdout=io.StringIO())
    assert "intercom_identity.W005" in err.getvalue()
    assert check_workspace_drift(databases=None) == []


def test_no_token_and_no_snapshot_no_check_messages(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    assert check_workspace_drift(databases=["default"]) == []


# --- never while a credential is served -------------------------------------------------


def test_serving_credentials_never_touches_the_workspace(intercom: FakeIntercom, monkeypatch: Any, user: Any) -> None:
    """Drift stored, then the JSON view and the template tag serve as ever, and call nothing of it."""
    configure("development", "ios", RolloutPhase.SENDING)
    configure("development", "web", RolloutPhase.SENDING)
    WorkspaceSnapshot.objects.create(
        environment=Environment.objects.get(slug="development"),
        fetched_at=ago(days=5),
        identity_verification=True,
        app_id_code="someone_else",
    )

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("workspace code ran while a credential was served")

    for name in ("sync", "findings", "report", "timeline", "api_token"):
        monkeypatch.setattr(workspace, name, forbidden)
    monkeypatch.setattr(intercom_api, "read_workspace", forbidden)
    client = Client()
    client.force_login(user)
    response = client.get("/intercom/user-hash/", {"platform": "ios"})
    assert response.status_code == 200
    assert response.json()["user_hash"]
    page = client.get("/")
    assert page.status_code == 200
    assert "user_hash" in page.content.decode()
    assert intercom.requests() == []


# --- the demo ---------------------------------------------------------------------------


def test_the_app_works_without_the_sdk_and_says_what_to_install() -> None:
    """In a process where neither python-intercom nor httpx can be imported: the app, its admin and
    command load, ``check`` passes, and only a sync fails, naming the extra to install."""
    script = "\n".join(
        [
            "import sys",
            "sys.modules['intercom'] = None; sys.modules['httpx'] = None",
            "import django; django.setup()",
            "import intercom_identity.admin, project.urls",
            "from django.core.management import call_command",
            "from django.core.management.base import CommandError",
            "call_command('migrate', verbosity=0)",
            "call_command('check')",
            "try:",
            "    call_command('intercom_identity', 'workspace', 'production')",
            "except CommandError as exc:",
            "    print(exc.returncode, exc)",
        ]
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "sqlite://:memory:",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1].startswith("2 ")
    assert 'pip install "intercom-identity[workspace]"' in done.stdout


# What the workspace commands print from Intercom or from the database goes through the same terminal rule as
# every other line of the command (``text.for_terminal``): an admin's email, an activity description or the app id
# Intercom reports cannot move the cursor, recolour, reorder or hide what an operator reads, in the command's
# output, its errors, or the system check's messages. The token commands' ``--reason`` is refused like any other
# audit reason.
def hostile_label() -> Environment:
    Environment.objects.filter(slug="production").update(label="Prod\x1b[2J\rStaging")
    return Environment.objects.get(slug="production")


def test_clear_api_token_escapes_the_stored_label(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    store_api_token(hostile_label(), STORED)
    out = io.StringIO()
    call_command("intercom_identity", "clear-api-token", "production", "--reason", "rotated", stdout=out)
    assert_terminal_safe(out.getvalue(), lines=1)
    assert "Prod\\x1b[2J\\rStaging" in out.getvalue()
    assert fingerprint(STORED) in out.getvalue()


def test_set_api_token_refused_for_a_token_from_settings_names_the_label_escaped(intercom: FakeIntercom) -> None:
    hostile_label()
    with pytest.raises(CommandError) as raised:
        call_command(
            "intercom_identity", "set-api-token", "production", stdin=io.StringIO(STORED), stdout=io.StringIO()
        )
    assert "managed by settings" in str(raised.value)
    assert str(raised.value).isprintable()
    assert "Prod\\x1b[2J\\rStaging" in str(raised.value)


def test_set_api_token_prints_the_fingerprint_alone(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    hostile_label()
    out = io.StringIO()
    call_command("intercom_identity", "set-api-token", "production", stdin=io.StringIO(STORED), stdout=out)
    assert out.getvalue() == fingerprint(STORED) + "\n"


@pytest.mark.parametrize("reason", ["rotated\r\x1b[2Kroutine", "ok\x00then", "abc\u202edcba"])
def test_clear_api_token_refuses_a_reason_with_control_characters(settings: Any, reason: str) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    environment = Environment.objects.get(slug="production")
    store_api_token(environment, STORED)
    with pytest.raises(CommandError) as raised:
        call_command("intercom_identity", "clear-api-token", "production", "--reason", reason, stdout=io.StringIO())
    assert "control characters" in str(raised.value)
    assert str(raised.value).isprintable()
    environment.refresh_from_db()
    assert environment.api_token_fingerprint == fingerprint(STORED)  # nothing changed
    assert not AuditEvent.objects.filter(kind="api_token", to_value="").exists()

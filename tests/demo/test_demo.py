"""The demo project, end to end: its mobile login API, and its commands run as a newcomer would."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from intercom_identity import compute_user_hash
from tests.helpers import SECRETS

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/api/login/"


def login(client: Client, body: Any) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(LOGIN, data, content_type="application/json")


@pytest.mark.django_db
def test_mobile_login_returns_the_identity_payload(client: Client, user: Any, all_secrets: Any) -> None:
    response = login(client, {"username": "jane", "password": "pw-jane-123", "platform": "android", "intercom": True})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": user.pk, "username": "jane"}
    assert body["intercom"]["user_hash"] == compute_user_hash(SECRETS[("development", "android")], user_id=str(user.pk))
    assert body["intercom"]["platform"] == "android"
    assert "sessionid" not in response.cookies  # stateless: no session to forge
    # Exactly the payload the JSON view gives the same user.
    client.force_login(user)
    assert client.get("/intercom/user-hash/", {"platform": "android"}).json() == body["intercom"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        (b"\xff\xfe{}", 400, "invalid_json"),
        (b"[" * 100_000, 400, "invalid_json"),
        ([1, 2], 400, "invalid_body"),
        ({"username": "jane", "password": "pw-jane-123"}, 400, "invalid_body"),
        ({"username": "jane", "password": 5, "platform": "ios"}, 400, "invalid_body"),
        ({"username": "ja\x00ne", "password": "pw-jane-123", "platform": "ios"}, 400, "invalid_body"),
        ({"username": "jane", "password": "wrong", "platform": "ios"}, 401, "invalid_credentials"),
        ({"username": "jane", "password": "pw-jane-123", "platform": "tv"}, 400, "unknown_platform"),
        ({"username": "jane", "password": "pw-jane-123", "platform": "tv", "intercom": True}, 400, "unknown_platform"),
        ({"username": "jane", "password": "pw-jane-123", "platform": "ios", "intercom": "yes"}, 400, "invalid_body"),
    ],
)
def test_mobile_login_bad_input_is_4xx_json(client: Client, user: Any, body: Any, status: int, code: str) -> None:
    response = login(client, body)
    assert response.status_code == status
    assert response.json()["error"] == code


@pytest.mark.django_db
def test_mobile_login_is_post_only(client: Client) -> None:
    response = client.get(LOGIN)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def manage(db_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "project.settings"}
    env.pop("INTERCOM_IDENTITY_ENCRYPTION_KEYS", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_commands_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    """migrate, demo_setup and the command as `make run` uses them; no secret in the file."""
    db_file = tmp_path / "demo.sqlite3"
    db_url = f"sqlite:///{db_file}"
    assert manage(db_url, "migrate", "--noinput").returncode == 0
    setup = manage(db_url, "demo_setup")
    assert setup.returncode == 0, setup.stderr
    assert "username 'admin', password 'admin'" in setup.stdout
    assert manage(db_url, "demo_setup").returncode == 0  # idempotent

    secret = "file-check-secret-77aa88bb99cc00dd11ee22ff"
    stored = manage(db_url, "intercom_identity", "set-secret", "production", "ios", stdin=secret + "\n")
    assert stored.returncode == 0, stored.stderr
    fingerprint = stored.stdout.strip()
    assert len(fingerprint) == 8
    digest = manage(db_url, "intercom_identity", "hash", "production", "ios", "--user-id", "42")
    assert digest.stdout.strip() == compute_user_hash(secret, user_id="42")

    status = json.loads(manage(db_url, "intercom_identity", "status", "--json").stdout)["environments"]
    assert status["development"]["web"]["phase"] == "sending"
    assert status["production"]["ios"]["fingerprint"] == fingerprint
    assert secret.encode() not in db_file.read_bytes()

    bad = manage(db_url, "intercom_identity", "phase", "production", "web", "enforced")
    assert bad.returncode != 0
    assert "CommandError" in bad.stderr or "no stored secret" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.django_db
def test_demo_setup_prints_the_address_make_run_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    monkeypatch.setenv("HOST", "demo.localhost")
    monkeypatch.setenv("PORT", "8080")
    call_command("demo_setup", stdout=out)
    assert "Admin: http://demo.localhost:8080/admin/ " in out.getvalue()
    monkeypatch.delenv("HOST")
    monkeypatch.delenv("PORT")
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    assert "Admin: http://127.0.0.1:8000/admin/ " in out.getvalue()
    assert "HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py demo_setup" in (ROOT / "Makefile").read_text("utf-8")


def test_favicon_is_no_404(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/project/favicon.svg"
    assert (ROOT / "project" / "static" / "project" / "favicon.svg").is_file()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/mobile/"])
def test_pages_name_their_icon_and_load_the_json_boxes_script_with_the_nonce(client: Client, page: str) -> None:
    html = client.get(page).content.decode()
    assert '<link rel="icon" href="/static/project/favicon.svg" type="image/svg+xml">' in html
    assert re.search(r'<script src="/static/project/demo\.js" nonce="[^"]*"></script>', html)
    script = (ROOT / "project" / "static" / "project" / "demo.js").read_text("utf-8")
    assert 'row.style.paddingLeft = (line.length - text.length) + "ch";' in script  # wraps under its key


@pytest.mark.django_db
def test_the_mobile_page_shows_no_empty_box_before_anything_is_sent_and_shows_the_fix(client: Client) -> None:
    html = client.get("/mobile/").content.decode()
    assert '<section id="returned" hidden>' in html
    assert '<div id="result" role="status"></div>' in html  # empty: hidden by #result:empty
    assert '"\\nFix: " + diagnosis.fix' in html
    css = (ROOT / "project" / "static" / "project" / "demo.css").read_text("utf-8")
    assert "#result:empty { display: none; }" in css


@pytest.mark.django_db
def test_the_emulator_says_how_to_fix_as_the_admin_does(client: Client, user: Any, all_secrets: Any) -> None:
    from intercom_identity.credentials.verification import REASONS

    body = {"platform": "ios", "user_id": "42", "user_hash": "ab" * 32}
    diagnosis = client.post("/intercom/verify/", json.dumps(body), content_type="application/json").json()["diagnosis"]
    assert diagnosis["reason"] == "mismatch"
    assert diagnosis["fix"] == str(REASONS["mismatch"]).replace("`", "")

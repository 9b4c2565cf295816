"""The demo site served by gunicorn for the tests that need real processes (multi-server, chaos).

Its environment is the one production would set (``project.settings``, DEBUG off), built from
nothing of the caller's Django settings; secrets made here are kept out of ``repr()`` and of
failure messages, and taught to the suite's leak guard.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests import leakguard

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = "development"
HASH_URL = "/intercom/user-hash/"
START_TIMEOUT = 30.0

_withheld: set[str] = set()  # every value made with Hidden.new(): never in a message


@dataclass(frozen=True)
class Hidden:
    """A secret, a password or a session key: out of ``repr()``, so out of pytest's tracebacks."""

    value: str = field(repr=False)

    @classmethod
    def new(cls, value: str) -> Hidden:
        _withheld.add(value)
        leakguard.remember_secret(value)  # the suite's leak guard fails a test whose output has it
        return cls(value)


def new_secret() -> Hidden:
    """A random Intercom secret of 48 characters."""
    return Hidden.new(secrets.token_hex(24))


def redact(text: str) -> str:
    for value in _withheld:
        text = text.replace(value, "[withheld]")
    return text


def user_hash(secret: Hidden, user_id: str) -> str:
    """Intercom's user hash, computed here independently of the app."""
    return hmac.new(secret.value.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class ServerEnvironment(dict[str, str]):
    """The environment of the servers and the set-up commands; it holds keys, so no ``repr()``."""

    def __repr__(self) -> str:
        return f"<{len(self)} environment variables, withheld>"


def server_environment(database_url: str, cache_url: str, **settings: str) -> ServerEnvironment:
    """Nothing of the caller's Django or intercom_identity settings leaks in; ``settings`` are
    further variables (``INTERCOM_IDENTITY_HASH_RATE_LIMIT="0"``)."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INTERCOM_IDENTITY_", "DJANGO_", "DATABASE_", "CACHE_"))
        and key not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    return ServerEnvironment(
        {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DEBUG": "False",
            "SECRET_KEY": Hidden.new(secrets.token_urlsafe(50)).value,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "INTERCOM_IDENTITY_ENCRYPTION_KEYS": Hidden.new(Fernet.generate_key().decode()).value,
            "INTERCOM_IDENTITY_ENVIRONMENT": ENVIRONMENT,
            "PYTHONUNBUFFERED": "1",
            **settings,
        }
    )


def manage(env: ServerEnvironment, *args: str, stdin: Hidden | None = None) -> str:
    """Run ``manage.py`` as the servers would: its stdout, or a failure with its (redacted) stderr."""
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            input=stdin.value if stdin else "",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"manage.py {args[0]} did not finish within 120 s", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed ({done.returncode}):\n{redact(done.stderr[-3000:])}", pytrace=False)
    return done.stdout


# Stores the secrets and phases, creates the admin and the users and signs each user in with
# Django's own login(), so that the sessions are in the database. Reads its input from stdin
# as JSON: admin, admin_password, users ({name: password}), environment, secrets and phases
# ({platform: ...}); prints {"users": {name: {"user_id", "session"}}, "configs": {platform: pk}}.
SET_UP = """
import json, sys
from django.contrib.auth import get_user_model
from django.test import Client
from intercom_identity.models import PlatformConfig
from intercom_identity.rollout.changes import change_phase, store_secret

given = json.load(sys.stdin)
User = get_user_model()
User.objects.create_superuser(given["admin"], "admin@example.com", given["admin_password"])
configs = {}
for platform, secret in given["secrets"].items():
    config = PlatformConfig.objects.get(environment__slug=given["environment"], platform=platform)
    store_secret(config, secret)
    if given["phases"][platform] != config.phase:
        change_phase(config, given["phases"][platform], reason="test set-up")
    configs[platform] = config.pk
users = {}
for name, password in given["users"].items():
    user = User.objects.create_user(name, f"{name}@example.com", password)
    client = Client()
    client.force_login(user)
    users[name] = {"user_id": str(user.pk), "session": client.cookies["sessionid"].value}
print(json.dumps({"users": users, "configs": configs}))
"""


def set_up(env: ServerEnvironment, given: dict[str, Any]) -> dict[str, Any]:
    """Run ``SET_UP`` with ``given`` (which holds secrets, so it goes through stdin)."""
    import json

    output = manage(env, "shell", "-c", SET_UP, stdin=Hidden(json.dumps(given)))
    made: dict[str, Any] = json.loads(output.splitlines()[-1])
    for user in made["users"].values():
        Hidden.new(user["session"])
    return made


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    worker: str  # pid
    order: int  # position in the server's access log


@dataclass
class Server:
    """One gunicorn serving the demo site on a loopback port of its own; its stderr (gunicorn's
    log and the app's) and access log in files."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    stderr_path: Path
    access_path: Path

    @classmethod
    def start(
        cls,
        name: str,
        env: ServerEnvironment,
        logs: Path,
        *,
        workers: int = 2,
        access_log: bool = True,
        interface: str = "wsgi",
    ) -> Server:
        """``interface`` "wsgi": gunicorn's sync workers; "asgi": gunicorn managing uvicorn
        workers (``uvicorn_worker.UvicornWorker``) serving ``project.asgi`` (the async views)."""
        port = free_port()
        stderr_path, access_path = logs / f"{name}.stderr.log", logs / f"{name}.access.log"
        if interface == "asgi":
            app = ["tests.asgi_access:application", "-k", "uvicorn_worker.UvicornWorker"]
            env = ServerEnvironment({**env, "ACCESS_LOG_PATH": str(access_path) if access_log else ""})
        else:
            app = ["project.wsgi:application"]
        command = [
            *(sys.executable, "-m", "gunicorn", *app),
            *("-b", f"127.0.0.1:{port}", "-w", str(workers)),
            "--no-control-socket",  # two servers would use the same default socket path
            *("--graceful-timeout", "5"),
        ]
        if access_log and interface == "wsgi":
            command += ["--access-logfile", str(access_path), "--access-logformat", '%(p)s "%(r)s" %(s)s']
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stderr, stderr=stderr)
        return cls(name, port, process, stderr_path, access_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace") if self.stderr_path.exists() else ""

    def diagnosis(self, lines: int = 25) -> str:
        """The tail of the server's stderr (gunicorn's log and the app's), for a failure message."""
        tail = "\n".join(self.stderr().splitlines()[-lines:])
        return f"\n--- server {self.name}, last lines of stderr ---\n{redact(tail)}"

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server {self.name} exited with {self.process.returncode}{self.diagnosis()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    connection.request("GET", HASH_URL)
                    connection.getresponse().read()
                    return
                finally:
                    connection.close()
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"server {self.name} did not answer within {START_TIMEOUT:.0f} s{self.diagnosis()}")

    def served(self) -> dict[int, Served]:
        """Which worker served each tagged JSON request, and in which order, from the access log."""
        text = self.access_path.read_text("utf-8", "replace") if self.access_path.exists() else ""
        lines = re.findall(r'^<(\d+)> "GET [^"]*[?&]tag=(\d+)', text, re.MULTILINE)
        return {int(tag): Served(pid, order) for order, (pid, tag) in enumerate(lines)}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

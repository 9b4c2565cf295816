"""Benchmark 10: a gunicorn worker's memory with the app against the same project without it.

Usage (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/memory.py [--quick] [--requests 10000]

The demo project (``project.settings``, ``DEBUG`` off, SQLite in a temporary directory, migrated
first, the local-memory cache) is served by gunicorn (one sync worker, loopback) twice in one run:

* without the app (baseline): ``bench.memory_settings``, the demo's settings minus
  ``intercom_identity`` (app, middleware, URLs): a bare signed-in page at ``/`` and a bare
  authenticated ``JsonResponse`` at ``/api/bare/``;
* with the app: the demo as is: the home page with ``{% intercom_messenger %}`` at ``/`` and the
  JSON view at ``/intercom/user-hash/?platform=ios`` (rate limit off: the run would exceed it).

One signed-in user (a session cookie) requests the two pages in turn, ``--requests`` in all, one
at a time (``http.client``, loopback). Then the worker's resident memory is read (``VmRSS`` of
``/proc/<worker>/status``; the worker is the gunicorn master's child). The target: the worker with
the app holds at most 1.15x the memory of the worker without it. The web and iOS secrets are
stored and "sending", so the tag and the view compute a hash on every request. A third run serves
the app with the same secrets given through the environment (``INTERCOM_IDENTITY_DEVELOPMENT_WEB_SECRET``...),
reported beside the target: that worker decrypts nothing, so it never imports ``cryptography``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Row, print_table, start
from bench.web import free_port, stop

TARGET = 1.15
WITH_APP = ("project.settings", ["/", "/intercom/user-hash/?platform=ios"])
WITHOUT_APP = ("bench.memory_settings", ["/", "/api/bare/?platform=ios"])
# The same secrets given through the environment (README, secrets from a vault or the environment):
# the worker then never decrypts a stored secret.
SECRETS_FROM_ENVIRONMENT = {
    f"INTERCOM_IDENTITY_DEVELOPMENT_{platform.upper()}_SECRET": f"bench-memory-{platform}-{'0123456789abcdef' * 2}"
    for platform in ("web", "ios")
}


def server_environment(database: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("INTERCOM_IDENTITY_") and name not in ("CACHE_URL", "DATABASE_URL")
    }
    env.update(
        DEBUG="False",
        SECRET_KEY="bench-memory-" + os.urandom(16).hex(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{database}",
        INTERCOM_IDENTITY_ENVIRONMENT="development",
        INTERCOM_IDENTITY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        INTERCOM_IDENTITY_HASH_RATE_LIMIT="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
    )
    return env


SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from intercom_identity.models import RolloutPhase
from intercom_identity.rollout.changes import change_phase, store_secret
from intercom_identity.selectors import get_platform_config

call_command("migrate", verbosity=0)
for platform in ("web", "ios"):
    config = get_platform_config(platform, "development")
    store_secret(config, "bench-memory-" + platform + "-0123456789abcdef0123456789abcdef")
    change_phase(config, RolloutPhase.SENDING, force=True, reason="benchmark set-up")
user = get_user_model().objects.create_user("bench", "bench@example.com", "pw", first_name="Bench")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


def prepare(env: dict[str, str]) -> str:
    """Migrate the SQLite database, store the secrets, create the user; its session key."""
    completed = subprocess.run(  # noqa: S603 (our own command line)
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "project.settings"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"error: set-up failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout.strip().splitlines()[-1]


def start_gunicorn(env: dict[str, str], settings: str, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "project.wsgi:application",
        "--workers",
        "1",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(  # noqa: S603 (our own command line)
        command,
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": settings},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_serving(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            get(port, "/", "")
            return
        time.sleep(0.2)
    raise SystemExit(f"error: gunicorn did not answer within 60 s:\n{log_path.read_text()[-3000:]}")


def worker_pid(master: int) -> int:
    """The gunicorn worker: the master's only child."""
    children = Path(f"/proc/{master}/task/{master}/children")
    pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    if not pids:  # kernels without CONFIG_PROC_CHILDREN
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(stat.parent.name))
    if len(pids) != 1:
        raise SystemExit(f"error: expected one gunicorn worker under {master}, found {pids}")
    return pids[0]


def status_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of ``/proc/<pid>/status`` in KiB: ``VmRSS`` (resident) or ``RssAnon``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"error: no {field} for {pid}")


def measure(
    env: dict[str, str], settings: str, paths: list[str], cookie: str, requests: int, tmp: Path
) -> dict[str, Any]:
    """Serve ``settings``, send ``requests`` requests, read the worker's RSS; the figures."""
    port = free_port()
    log_path = tmp / f"gunicorn-{settings}.log"
    with log_path.open("wb") as log:
        server = start_gunicorn(env, settings, port, log)
        try:
            wait_until_serving(server, port, log_path)
            worker = worker_pid(server.pid)
            for path in paths:  # signed in, and the expected pages
                status, body = get(port, path, cookie)
                if status != 200 or (path == "/" and b"Signed in as <strong>bench</strong>" not in body):
                    raise SystemExit(f"error: GET {path} answered {status}: {body[:300]!r}")
            first = status_kib(worker)
            began = time.monotonic()
            errors = 0
            for index in range(requests):
                status, _body = get(port, paths[index % len(paths)], cookie)
                errors += status != 200
            elapsed = time.monotonic() - began
            if worker_pid(server.pid) != worker:
                raise SystemExit("error: the gunicorn worker was replaced during the run")
            return {
                "first": first,
                "last": status_kib(worker),
                "anonymous": status_kib(worker, "RssAnon"),
                "master": status_kib(server.pid),
                "rate": requests / elapsed,
                "errors": errors,
            }
        finally:
            stop(server)


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: 200 requests (a check that it works)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests sent to each worker")
    args = parser.parse_args()
    requests = 200 if args.quick else args.requests

    start("bench/memory.py: a gunicorn worker's memory with the app and without it (benchmark 10)")
    print(
        f"setup: demo project, DEBUG off, SQLite, gunicorn 1 sync worker; {requests:,} requests each, "
        "one signed-in user"
    )
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
        tmp = Path(name)
        env = server_environment(tmp / "db.sqlite3")
        cookie = prepare(env)
        without = measure(env, WITHOUT_APP[0], WITHOUT_APP[1], cookie, requests, tmp)
        with_app = measure(env, WITH_APP[0], WITH_APP[1], cookie, requests, tmp)
        from_environment = measure({**env, **SECRETS_FROM_ENVIRONMENT}, WITH_APP[0], WITH_APP[1], cookie, requests, tmp)
    for label, figures in (
        ("without the app", without),
        ("with the app", with_app),
        ("with the app, secrets from the environment", from_environment),
    ):
        print(
            f"{label}: worker {mib(figures['first'])} after the first requests, {mib(figures['last'])} after "
            f"{requests:,} ({figures['rate']:,.0f} req/s, {figures['errors']} errors); master {mib(figures['master'])}"
        )
    ratio = with_app["last"] / without["last"]
    passed = ratio <= TARGET
    print_table(
        f"worker resident memory (VmRSS) after {requests:,} requests",
        [
            Row(f"{WITHOUT_APP[0]}: bare page + bare JSON view (baseline)", mib(without["last"]), 1.0),
            Row(
                f"{WITH_APP[0]}: home page with the tag + JSON view",
                mib(with_app["last"]),
                ratio,
                f"<= {TARGET}x",
                passed,
            ),
            Row(
                "the same, after the first requests",
                mib(with_app["first"]),
                with_app["first"] / without["first"],
            ),
            Row(
                "the same, secrets from the environment (none decrypted)",
                mib(from_environment["last"]),
                from_environment["last"] / without["last"],
                "reported",
            ),
        ],
    )
    # Of the resident memory, the part no other process can share: the heap and the relocated data of
    # the libraries. The rest is file pages (code of libpython, OpenSSL, cryptography's bindings) that
    # every worker of a host maps from the same page cache.
    print_table(
        f"of which anonymous memory (RssAnon, not shared between workers) after {requests:,} requests",
        [
            Row("without the app (baseline)", mib(without["anonymous"]), 1.0),
            Row(
                "with the app, stored secrets",
                mib(with_app["anonymous"]),
                with_app["anonymous"] / without["anonymous"],
                "reported",
            ),
            Row(
                "with the app, secrets from the environment",
                mib(from_environment["anonymous"]),
                from_environment["anonymous"] / without["anonymous"],
                "reported",
            ),
        ],
    )
    print(
        f"memory: {ratio:.2f}x the worker without the app after {requests:,} requests "
        f"(target <= {TARGET}x: {'PASS' if passed else 'MISS'})"
    )
    print(
        f"with the secrets from the environment: {from_environment['last'] / without['last']:.2f}x "
        "(no stored secret decrypted, so cryptography is never imported)"
    )
    if without["errors"] or with_app["errors"] or from_environment["errors"]:
        raise SystemExit("error: some requests failed")


if __name__ == "__main__":
    main()

"""A redis-server and a PostgreSQL cluster of a test's own, to stop, freeze and start again.

The machine's shared services (127.0.0.1:5432 and :6379) are never touched: each server here
runs from a temporary directory on a free loopback port, as a child of the test process (so
only processes the test started are ever signalled, by their own pid), and ``stop()`` ends it
whatever state it was left in (frozen included). As root, PostgreSQL runs as the ``postgres``
user, which owns the temporary directory (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.demo_servers import free_port

READY_TIMEOUT = 30.0


class ServiceError(RuntimeError):
    """A throwaway service did not start or stop as asked; the message has the tail of its log."""


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text("utf-8", "replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _end(process: subprocess.Popen[bytes] | None, first: signal.Signals, *, patience: float) -> None:
    """Signal ``process`` (a child of this process) with ``first``; then SIGKILL if it is still there."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGCONT)  # a frozen process handles no signal but SIGKILL
        os.kill(process.pid, first)
    try:
        process.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class RedisServer:
    """``redis-server`` on 127.0.0.1, without persistence: a restart starts it empty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log_path = directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        command = [
            shutil.which("redis-server") or "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(self.log_path)),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ServiceError(f"redis-server did not start on port {self.port}:\n{_tail(self.log_path)}")
            time.sleep(0.02)

    def answers(self, timeout: float = 0.5) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Shut it down (connections are then refused) and wait until it is gone."""
        _end(self.process, signal.SIGTERM, patience=10)

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nothing answers them."""
        assert self.process is not None
        assert self.process.poll() is None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


class PostgresCluster:
    """A PostgreSQL cluster made by ``initdb`` in a temporary directory (trust authentication,
    user ``postgres``), tuned for throwaway data (no fsync)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.directory = Path(tempfile.mkdtemp(prefix="intercom-identity-postgres-"))
        self.data = self.directory / "data"
        self.log_path = self.directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_postgres: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self._as_postgres = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        command = [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        done = subprocess.run(
            [*command, "--no-sync", "-E", "UTF8", "--locale=C"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as_postgres,
        )
        if done.returncode != 0:
            raise ServiceError(f"initdb failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def start(self) -> None:
        """Start the postmaster and wait until it accepts connections."""
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.directory),  # not /var/run/postgresql
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "40",
            "shared_buffers": "32MB",
        }
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, **self._as_postgres)
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.accepts():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ServiceError(f"PostgreSQL did not start on port {self.port}:\n{_tail(self.log_path)}")
            time.sleep(0.02)

    def accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        """Fast shutdown (SIGINT: sessions are ended), waiting until the postmaster is gone."""
        _end(self.process, signal.SIGINT, patience=20)

    def remove(self) -> None:
        """Stop it and delete the cluster."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

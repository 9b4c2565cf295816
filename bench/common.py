"""What every benchmark script prints: the machine it ran on and a table of results against targets.

Each script measures its baseline in the same run, so a ratio compares across machines where an
absolute figure does not. A target that is missed prints MISS; it never changes the exit code
(only an error does).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def postgres_version(url: str = POSTGRES_ADMIN_URL) -> str:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else "unknown"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


def redis_version(url: str = REDIS_URL) -> str:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return str(client.info("server")["redis_version"])
        finally:
            client.close()
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


def machine_line() -> str:
    """One line: CPU model, cores, Python, Django, PostgreSQL and Redis versions."""
    import django

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    core_text = f"{cores} cores" if usable == cores else f"{cores} cores ({usable} usable)"
    return (
        f"machine: {cpu_model()}, {core_text}, Python {platform.python_version()}, "
        f"Django {django.get_version()}, PostgreSQL {postgres_version()}, Redis {redis_version()}"
    )


@dataclass
class Row:
    """One result line. ``ratio`` is against the table's baseline; ``target`` describes the goal."""

    what: str
    figure: str
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: nothing to judge (the baseline, or a figure only reported)

    @property
    def result(self) -> str:
        if self.passed is None:
            return "-"
        return "PASS" if self.passed else "MISS"


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.3f}" if ratio < 10 else f"{ratio:.1f}"


def print_table(title: str, rows: list[Row], *, figure_header: str = "figure") -> None:
    """A fixed-width table: what | figure | x baseline | target | result."""
    what_width = max(len("what"), *(len(row.what) for row in rows))
    figure_width = max(len(figure_header), *(len(row.figure) for row in rows))
    target_width = max(len("target"), *(len(row.target) for row in rows))
    print()
    print(title)
    header = (
        f"{'what':<{what_width}}  {figure_header:>{figure_width}}  {'x baseline':>10}  "
        f"{'target':<{target_width}}  result"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.what:<{what_width}}  {row.figure:>{figure_width}}  {ratio_text(row.ratio):>10}  "
            f"{row.target or '-':<{target_width}}  {row.result}"
        )
    print()


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all CPUs, from /proc/stat."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user..steal


def load_line(sample: float = 0.5) -> str:
    """How busy the CPUs were, just before measuring (this script sleeping): other work makes figures noisy."""
    before = _cpu_times()
    time.sleep(sample)
    after = _cpu_times()
    one = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if before is None or after is None or after[1] == before[1]:
        return f"load at start: load average {one:.2f}"
    busy = 1 - (after[0] - before[0]) / (after[1] - before[1])
    warning = " (other processes were busy: expect noisy figures)" if busy > 0.25 else ""
    return f"load at start: {busy:.0%} of the CPUs busy over {sample} s, load average {one:.2f}{warning}"


def start(title: str) -> None:
    """The header every script prints first."""
    print(f"== {title} ==")
    print(machine_line())
    print(load_line())
    sys.stdout.flush()

"""Bounded logging of an outage of the cache or the database: each distinct problem once with
its traceback, then at most a summary a minute, then once when the service is back. Records name
exception types and counts, never a value the app handles."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter

logger = logging.getLogger("intercom_identity.outages")

REPORT_INTERVAL = 60.0  # seconds between two records of one outage while it lasts
QUIET = 1.0  # seconds without a failure before an answer ends the outage

_request_numbers = itertools.count(1)
_thread = threading.local()  # .request: the number of the request this thread serves, or None


def request_started() -> None:
    """Number the request this thread now serves (what an outage's summary counts)."""
    _thread.request = next(_request_numbers)


def request_finished() -> None:
    _thread.request = None


def duration_text(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``1,250 s``: what an operator reads at a glance."""
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:,.0f} s"


def problem_of(exc: BaseException) -> str:
    """The problem an error is an instance of: its exception type (``redis.exceptions.TimeoutError``)."""
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


class Outage:
    """One service (``"the cache"``, ``"the database"``) as this process sees it: up, or down
    since its first failure. ``affected`` says what happened to the requests meanwhile
    (``"served without it"``)."""

    def __init__(self, service: str, *, affected: str, level: int) -> None:
        self.service = service
        self.affected = affected
        self.level = level
        self._lock = threading.Lock()
        self._counted = threading.local()  # .request: the last request of this thread counted as affected
        self.forget()

    def forget(self) -> None:
        """Back to "up", logging nothing (tests; a new cache configuration)."""
        self._down_since: float | None = None
        self._last_failure = 0.0
        self._answered_at: float | None = None  # the first answer since the last failure
        self._last_report = 0.0
        self._logged: set[str] = set()
        self._unlogged: Counter[str] = Counter()
        self._requests = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException, consequence: str) -> None:
        """A call to the service raised ``exc``; ``consequence`` says what the app does instead
        (it is logged with the problem's first error)."""
        problem = problem_of(exc)
        now = time.monotonic()
        report = None
        with self._lock:
            self._count_request()
            self._last_failure, self._answered_at = now, None
            if self._down_since is None:
                self._down_since = self._last_report = now
            first = problem not in self._logged
            if first:
                self._logged.add(problem)
            else:
                self._unlogged[problem] += 1
                report = self._report_due(now)
        if first:
            logger.log(
                self.level,
                "Intercom identity: %s is unavailable (%s): %s. Until it is back, further errors are counted "
                "and reported at most once every %s.",
                self.service,
                problem,
                consequence,
                duration_text(REPORT_INTERVAL),
                exc_info=exc,
            )
        elif report:
            logger.log(self.level, "%s", report)

    def served_without(self) -> None:
        """The current request did without the service, which is known to be down."""
        if self._down_since is None:
            return
        with self._lock:
            self._count_request()
            report = self._report_due(time.monotonic())
        if report:
            logger.log(self.level, "%s", report)

    def available(self) -> None:
        """The service answered. Cheap while it is up: the hot paths call it on every success."""
        if self._down_since is None:
            return
        now = time.monotonic()
        with self._lock:
            if self._down_since is None:
                return
            if self._answered_at is None:
                self._answered_at = now
            if now - self._last_failure < QUIET:
                return  # it may only be answering some calls
            lasted, requests = self._answered_at - self._down_since, self._requests
            self.forget()
        logger.warning(
            "Intercom identity: %s is available again after %s, %s requests %s.",
            self.service,
            duration_text(lasted),
            f"{requests:,}",
            self.affected,
        )

    def _count_request(self) -> None:
        """Count the current request as affected, once (a use outside any request counts alone)."""
        request = getattr(_thread, "request", None)
        if request is None or getattr(self._counted, "request", None) != request:
            self._requests += 1
            self._counted.request = request

    def _report_due(self, now: float) -> str | None:
        """The periodic record, when one is due (the caller holds the lock)."""
        if self._down_since is None or now - self._last_report < REPORT_INTERVAL:
            return None
        self._last_report = now
        unlogged = sum(self._unlogged.values())
        details = ", ".join(f"{problem} {count:,}" for problem, count in sorted(self._unlogged.items()))
        self._unlogged.clear()
        errors = f"; {unlogged:,} more errors not logged ({details})" if unlogged else ""
        return (
            f"Intercom identity: {self.service} is still unavailable after {duration_text(now - self._down_since)}: "
            f"{self._requests:,} requests {self.affected} so far{errors}."
        )


CACHE = Outage("the cache", affected="served without it", level=logging.WARNING)
DATABASE = Outage("the database", affected="answered without it", level=logging.ERROR)
OUTAGES = (CACHE, DATABASE)


def database_connected() -> None:
    """A new connection is an answer of the database, even on pages that only render the messenger."""
    DATABASE.available()


def forget() -> None:
    """Every service back to "up" in this process, logging nothing (tests)."""
    for outage in OUTAGES:
        outage.forget()

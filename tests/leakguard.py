"""Suite-wide guard: no stored secret may appear in a response, a log record or test output.

``RecordResponsesMiddleware`` (first in tests/settings.py MIDDLEWARE) and ``RecordLogHandler``
(the root log handler) record everything the app emits; ``conftest.py`` learns every secret
the suite stores (by wrapping ``crypto.encrypt``) and fails a test whose outputs contain one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse

MIN_TRACKED_LENGTH = 8  # shorter test secrets would match unrelated text

known_secrets: set[str] = set()
recorded: list[tuple[str, str]] = []


def remember_secret(secret: str) -> None:
    if len(secret) >= MIN_TRACKED_LENGTH:
        known_secrets.add(secret)


def record(where: str, text: str) -> None:
    recorded.append((where, text))


def find_leaks(outputs: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[str]:
    """Where each secret occurs in the outputs, as ``"<where>"`` lines (never the secret itself)."""
    secrets = list(secrets)
    return [where for where, text in outputs for secret in secrets if secret in text]


class RecordResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        body = b"" if response.streaming else response.content
        record(f"response {request.method} {request.path}", headers + "\n" + body.decode("utf-8", "replace"))
        return response


class RecordLogHandler(logging.Handler):
    def emit(self, record_: logging.LogRecord) -> None:
        formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
        record(f"log {record_.name}", formatter.format(record_))

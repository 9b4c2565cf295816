"""Suite-wide guard: no stored secret or Intercom API token may appear in a response, a log
record or test output.

``RecordResponsesMiddleware`` (first in tests/settings.py MIDDLEWARE) and ``RecordLogHandler``
(the root log handler) record everything the app emits; ``conftest.py`` learns every secret
and token the suite stores (by wrapping ``crypto.encrypt``), this module every one supplied by
settings, and a test whose outputs contain one fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse

MIN_TRACKED_LENGTH = 8  # shorter test secrets would match unrelated text

known_secrets: set[str] = set()
recorded: list[tuple[str, str]] = []


def remember_secret(secret: str) -> None:
    if len(secret) >= MIN_TRACKED_LENGTH:
        known_secrets.add(secret)


def remember_settings_values(*, setting: str, value: Any, **kwargs: Any) -> None:
    """Secrets and Intercom API tokens supplied by settings (``override_settings``, the ``settings``
    fixture) are watched for like stored ones."""
    if setting == "INTERCOM_IDENTITY_API_TOKENS" and isinstance(value, dict):
        for token in value.values():
            if isinstance(token, str):
                remember_secret(token)
    elif setting == "INTERCOM_IDENTITY_SECRETS" and isinstance(value, dict):
        for platforms in value.values():
            for secret in platforms.values() if isinstance(platforms, dict) else ():
                if isinstance(secret, str):
                    remember_secret(secret)


setting_changed.connect(remember_settings_values, dispatch_uid="tests.leakguard.settings_values")


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

"""Log records with their control characters escaped: every record of the app's own loggers,
and the records Django writes about the app's admin pages (a refused lookup's name, a bad
request), so that no text a user put in a URL or a form can start a forged line, recolour or
retitle the terminal that shows the log. Installed by ``AppConfig.ready()``."""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any

from intercom_identity._internal.terminal import for_terminal

# Every logger of the app (tests/_internal/test_logsafety.py fails when a module names another).
# A logger's filters see only the records made by that logger, not its children's: each is named.
APP_LOGGERS = (
    "intercom_identity",
    "intercom_identity.activity",
    "intercom_identity.contrib",
    "intercom_identity.emulator",
    "intercom_identity.http",
    "intercom_identity.identity",
    "intercom_identity.intercom_api",
    "intercom_identity.loader",
    "intercom_identity.maintenance",
    "intercom_identity.messenger",
    "intercom_identity.middleware",
    "intercom_identity.outages",
    "intercom_identity.workspace",
)

# Django's loggers that write about a request: their records are neutralised when the request
# was for one of the app's admin pages (a record about another app's page is left as it is).
DJANGO_REQUEST_LOGGERS = (
    "django.request",
    "django.security.DisallowedModelAdminLookup",
    "django.security.DisallowedModelAdminToField",
    "django.security.DisallowedRedirect",
    "django.security.RequestDataTooBig",
    "django.security.SuspiciousOperation",
    "django.security.TooManyFieldsSent",
    "django.security.TooManyFilesSent",
    "django.security.csrf",
)

APP_LABEL = "intercom_identity"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class NeutraliseControlCharacters(logging.Filter):
    """Escapes every character that is not printable (CR, LF, ESC, bidi controls...) in the
    message and in the text of an attached exception; never drops a record.

    ``only_app_admin``: only records carrying a ``request`` for one of the app's admin pages
    (what Django attaches to the records of a request it refused or failed).
    """

    def __init__(self, *, only_app_admin: bool = False) -> None:
        super().__init__()
        self.only_app_admin = only_app_admin

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.only_app_admin or is_app_admin_request(getattr(record, "request", None)):
            neutralise(record)
        return True


def neutralise(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place: its message formatted and escaped, its exception's text
    (the traceback's frames as they are, each exception's message escaped) pre-rendered."""
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its message: logging reports that itself
        return
    safe = for_terminal(message)
    if safe != message:  # else the record stays as made: error trackers group by its template
        record.msg, record.args = safe, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = exception_text(record.exc_info)


def exception_text(exc_info: ExcInfo) -> str:
    """What ``logging.Formatter.formatException`` shows, with each exception's message (which
    may quote a request) escaped: the chain, oldest first, then the exception itself."""
    chain: list[BaseException] = []
    current: BaseException | None = exc_info[1]
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = []
    for position, exc in enumerate(reversed(chain)):
        if position:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if exc.__cause__ is not None
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        frames = "".join(traceback.format_tb(exc.__traceback__)) if exc.__traceback__ else ""
        heading = "Traceback (most recent call last):\n" if frames else ""
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        text = for_terminal(str(exc)) if str(exc) else ""
        parts.append(f"{heading}{frames}{name}{': ' + text if text else ''}")
    return "".join(parts)


def is_app_admin_request(request: Any) -> bool:
    """Whether ``request`` was for one of the app's admin pages (its model admins and their
    custom pages, the app's index)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    url_name = match.url_name or ""
    return url_name.startswith(f"{APP_LABEL}_") or (
        url_name == "app_list" and match.kwargs.get("app_label") == APP_LABEL
    )


def install() -> None:
    """Add the filter to the app's loggers and to Django's request loggers (idempotent)."""
    for name in APP_LOGGERS:
        _add(logging.getLogger(name), only_app_admin=False)
    for name in DJANGO_REQUEST_LOGGERS:
        _add(logging.getLogger(name), only_app_admin=True)


def _add(logger: logging.Logger, *, only_app_admin: bool) -> None:
    if not any(isinstance(existing, NeutraliseControlCharacters) for existing in logger.filters):
        logger.addFilter(NeutraliseControlCharacters(only_app_admin=only_app_admin))

"""Who the user is, as Intercom sees them: the defaults behind the pluggable
``INTERCOM_IDENTITY_USER_ID``, ``INTERCOM_IDENTITY_USER_EMAIL`` and
``INTERCOM_IDENTITY_AUTHENTICATE`` settings, and the one function that applies them."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError
from django.http import HttpRequest

from intercom_identity.conf import conf
from intercom_identity.exceptions import IdentityCallableRaised
from intercom_identity.validators import is_utf8_text

logger = logging.getLogger("intercom_identity.identity")


def default_user_id(user: Any) -> str | None:
    """``str(user.pk)``: the primary key is stable, unlike usernames and emails."""
    return None if user.pk is None else str(user.pk)


def default_user_email(user: Any) -> str | None:
    """The user's email field (whatever the user model names it), or None when blank."""
    field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return getattr(user, field, None) or None


def default_authenticate(request: HttpRequest) -> Any:
    """``request.user`` when it is an authenticated user (session or any auth middleware)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


# How often each (setting, exception type) was raised since its traceback was logged, and when
# the last count was: one traceback per process, then a count at most every REPORT_INTERVAL.
REPORT_INTERVAL = 60.0
_raised: dict[tuple[str, str], list[float]] = {}
_raised_lock = threading.Lock()


def call_setting(setting: str, function: Callable[[Any], Any], argument: Any) -> Any:
    """``function(argument)`` for a pluggable ``INTERCOM_IDENTITY_<setting>`` (see ``raised_by``)."""
    with raised_by(setting):
        return function(argument)


@contextmanager
def raised_by(setting: str) -> Iterator[None]:
    """Around a call of ``INTERCOM_IDENTITY_<setting>``, sync or awaited: an exception it raises is
    a misconfiguration (``IdentityCallableRaised``, an ``ImproperlyConfigured``), which the JSON
    views answer with a 503 and the template tag by not booting: never a broken page. Its
    traceback is logged once per process and exception type; later ones are counted, the count
    logged at most a minute."""
    try:
        yield
    except (DatabaseError, InterfaceError, ImproperlyConfigured):
        raise  # the database being down has its own answer; a misconfiguration already is one
    except Exception as exc:
        _report_raised(setting, exc)
        raise IdentityCallableRaised(f"INTERCOM_IDENTITY_{setting} raised {type(exc).__name__}.") from None


def _report_raised(setting: str, exc: Exception) -> None:
    """The first time: ERROR with the traceback. Then: counted, one line at most every minute."""
    problem = type(exc).__name__
    now = time.monotonic()
    with _raised_lock:
        seen = _raised.get((setting, problem))
        if seen is None:
            _raised[(setting, problem)] = [0, now]
        else:
            seen[0] += 1
            if now - seen[1] < REPORT_INTERVAL:
                return
            count, seen[0], seen[1] = int(seen[0]), 0, now
    if seen is None:
        logger.error(
            "INTERCOM_IDENTITY_%s raised %s: those users get no Intercom identity until it is fixed. "
            "Logged with its traceback once per process; later ones are counted.",
            setting,
            problem,
            exc_info=exc,
        )
    else:
        logger.error("INTERCOM_IDENTITY_%s raised %s %s more times.", setting, problem, f"{count:,}")


def authenticate(request: HttpRequest) -> Any:
    """Who is asking: ``INTERCOM_IDENTITY_AUTHENTICATE(request)`` (see ``call_setting``); an
    ``async def`` callable is run to completion (as Django runs an async view under WSGI)."""
    function = conf.AUTHENTICATE
    if iscoroutinefunction(function):
        function = async_to_sync(function)
    return call_setting("AUTHENTICATE", function, request)


async def aauthenticate(request: HttpRequest) -> Any:
    """``authenticate`` for async views.

    The default reads ``await request.auser()`` (Django's async user, no query of this app's
    own); an ``async def`` callable is awaited; any other callable runs in a worker thread
    (``sync_to_async``), as it may query the database.
    """
    function = conf.AUTHENTICATE
    if function is default_authenticate:
        auser = getattr(request, "auser", None)
        if auser is None:  # no AuthenticationMiddleware: no user, as request.user would say
            return None
        user = await auser()
        return user if user is not None and user.is_authenticated else None
    if iscoroutinefunction(function):
        with raised_by("AUTHENTICATE"):
            return await function(request)
    return await sync_to_async(call_setting)("AUTHENTICATE", function, request)


class _Misconfigured(Exception):
    """A ``USER_ID`` / ``USER_EMAIL`` callable returned something that is no identifier."""


# (setting, type) pairs already reported by this process: one error each, not one per request.
_reported: set[tuple[str, str]] = set()


def _identifier(setting: str, value: object, *, ints: bool) -> str | None:
    """``value`` as the text Intercom receives, None when absent; ``_Misconfigured`` otherwise.

    Only ``str`` (and ``int`` for ids) is accepted: ``str()`` of anything else is its ``repr``
    (``b'42'``), which would be hashed and sent as if it were the user's id.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str) and (value.isascii() or is_utf8_text(value)):  # isascii(): no encoding, hot path
        return value
    if ints and isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))  # int(): an IntEnum member's str() may be its name
    what = "str that is not UTF-8 text" if isinstance(value, str) else type(value).__name__
    if (setting, what) not in _reported:
        _reported.add((setting, what))
        logger.error(
            "INTERCOM_IDENTITY_%s returned a %s; it must return a str%s or None. Users get no Intercom "
            "identity until it is fixed (logged once per process).",
            setting,
            what,
            " or an int" if ints else "",
        )
    raise _Misconfigured


def user_identity(user: Any) -> tuple[str | None, str | None]:
    """``(user_id, email)`` for a user, each None when absent; ``(None, None)`` for a visitor,
    and for a user whose ``USER_ID`` or ``USER_EMAIL`` callable returns no identifier (logged)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None, None
    try:
        return (
            _identifier("USER_ID", call_setting("USER_ID", conf.USER_ID, user), ints=True),
            _identifier("USER_EMAIL", call_setting("USER_EMAIL", conf.USER_EMAIL, user), ints=False),
        )
    except _Misconfigured:
        return None, None


def forget_reports() -> None:
    """A change of settings may fix (or change) the callables: report afresh."""
    _reported.clear()
    with _raised_lock:
        _raised.clear()


def signed_claims(user: Any, email: str | None) -> dict[str, Any]:
    """The claims named in ``INTERCOM_IDENTITY_JWT_SIGNED_FIELDS`` for a JWT.

    ``email`` is the value of ``INTERCOM_IDENTITY_USER_EMAIL``; any other name is read from
    the user (called when it is a method). ``user_id`` is always signed and not repeated here.

    A field that cannot be read (a property or method that raises, a date out of range) or is
    no JSON value is left out, with one logged error per process and field: the page renders.
    """
    claims: dict[str, Any] = {}
    for name in conf.JWT_SIGNED_FIELDS:
        if name == "user_id":
            continue
        try:
            value = email if name == "email" else getattr(user, name, None)
            value = value() if inspect.ismethod(value) else value
            if isinstance(value, datetime):
                value = int(value.timestamp())  # JWT dates are seconds since 1970
            elif isinstance(value, date):
                value = value.isoformat()
        except (DatabaseError, InterfaceError):
            raise  # the database being down has its own answer
        except Exception as exc:
            _claim_left_out(name, f"reading it raised {type(exc).__name__}", exc)
            continue
        if value is not None and not isinstance(value, (str, int, float, bool)):
            _claim_left_out(name, f"a {type(value).__name__} is not a JSON value", None)
            continue
        claims[name] = value
    return claims


def _claim_left_out(name: str, why: str, exc: Exception | None) -> None:
    if (f"JWT_SIGNED_FIELDS:{name}", why) in _reported:
        return
    _reported.add((f"JWT_SIGNED_FIELDS:{name}", why))
    logger.error(
        "JWT claim %s left out of the tokens: %s (INTERCOM_IDENTITY_JWT_SIGNED_FIELDS; logged once per process).",
        name,
        why,
        exc_info=exc,
    )

"""Secrets and Intercom API tokens from environment variables and ``*_FILE`` paths, for
settings.py (docs/secrets-from-environment.md lists the variables). Safe to import from settings:
it needs neither the app registry nor Django's settings."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

__all__ = ["api_tokens_from_environment", "secret_files", "secrets_from_environment"]

SECRET_NAME = re.compile(
    r"^INTERCOM_IDENTITY_(?P<env>[A-Z0-9_]+?)_(?P<platform>IOS|ANDROID|WEB)_SECRET(?P<file>_FILE)?$"
)
TOKEN_NAME = re.compile(r"^INTERCOM_IDENTITY_(?P<env>[A-Z0-9_]+?)_API_TOKEN(?P<file>_FILE)?$")

# Every file a call of this module read (variable name -> path), for the W009 check.
_files_read: dict[str, Path] = {}


@sensitive_variables()
def _read_file(name: str, path: str) -> str:
    """The file's text without one trailing newline; ``ImproperlyConfigured`` naming the variable
    (never the content) when it cannot be read."""
    try:
        value = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ImproperlyConfigured(f"{name} names a file that cannot be read as UTF-8 text ({reason}).") from None
    _files_read[name] = Path(path)
    for newline in ("\r\n", "\n"):
        if value.endswith(newline):
            return value[: -len(newline)]
    return value


@sensitive_variables()
def _values(pattern: re.Pattern[str], variables: Mapping[str, str]) -> Iterator[tuple[re.Match[str], str]]:
    """Each matching variable with its value (read from the file for ``_FILE``), files first so values win."""
    for name in sorted(variables, key=lambda n: n.endswith("_FILE"), reverse=True):
        match = pattern.match(name)
        if match:
            yield match, _read_file(name, variables[name]) if match["file"] else variables[name]


@sensitive_variables()
def secrets_from_environment(variables: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """``{env: {platform: secret}}`` for ``INTERCOM_IDENTITY_SECRETS``, from ``variables``
    (default ``os.environ``) named ``INTERCOM_IDENTITY_<ENV>_<PLATFORM>_SECRET[_FILE]``.

    ``<ENV>`` is the environment slug in capitals (``STAGING_EU`` for ``staging_eu``),
    ``<PLATFORM>`` is ``IOS``, ``ANDROID`` or ``WEB``. Values are taken as they are: no ``$VAR``
    interpolation, since a secret may start with ``$``.
    """
    secrets: dict[str, dict[str, str]] = {}
    for match, value in _values(SECRET_NAME, os.environ if variables is None else variables):
        secrets.setdefault(match["env"].lower(), {})[match["platform"].lower()] = value
    return secrets


@sensitive_variables()
def api_tokens_from_environment(variables: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{env: token}`` for ``INTERCOM_IDENTITY_API_TOKENS``, from ``variables`` (default
    ``os.environ``) named ``INTERCOM_IDENTITY_<ENV>_API_TOKEN[_FILE]``."""
    variables = os.environ if variables is None else variables
    return {match["env"].lower(): value for match, value in _values(TOKEN_NAME, variables)}


def secret_files() -> dict[str, Path]:
    """The ``*_FILE`` variables of this process's environment and of every call above, with their paths."""
    files = dict(_files_read)
    for name, value in os.environ.items():
        match = SECRET_NAME.match(name) or TOKEN_NAME.match(name)
        if match and match["file"] and value:
            files.setdefault(name, Path(value))
    return files


def writable_by_others(path: Path) -> bool:
    """Whether users other than the owner and the group may write the file (``o+w``), following links.

    Such a file lets any local account replace the secret, so that Intercom is asked to trust
    hashes they mint. A file that is missing or unreadable is not judged here (reading it fails
    loudly at start-up).
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWOTH)

"""Secrets and Intercom API tokens from the environment, for the demo's settings.

``INTERCOM_IDENTITY_<ENV>_<PLATFORM>_SECRET=...`` supplies a secret directly;
``INTERCOM_IDENTITY_<ENV>_<PLATFORM>_SECRET_FILE=/run/secrets/...`` names a file holding it
(one trailing newline dropped, as files written by ``echo`` end with one). Values are taken
as they are (no ``$VAR`` interpolation): a secret may start with ``$``. ``<ENV>`` is the
environment slug in capitals (``PRODUCTION``, ``STAGING_EU`` for ``staging_eu``), ``<PLATFORM>``
is ``IOS``, ``ANDROID`` or ``WEB``. ``INTERCOM_IDENTITY_<ENV>_API_TOKEN[_FILE]`` supplies an
environment's Intercom access token the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from django.views.decorators.debug import sensitive_variables

NAME = re.compile(r"^INTERCOM_IDENTITY_(?P<env>[A-Z0-9_]+?)_(?P<platform>IOS|ANDROID|WEB)_SECRET(?P<file>_FILE)?$")
TOKEN_NAME = re.compile(r"^INTERCOM_IDENTITY_(?P<env>[A-Z0-9_]+?)_API_TOKEN(?P<file>_FILE)?$")


@sensitive_variables()
def _values(pattern: re.Pattern[str], variables: Mapping[str, str]) -> Iterator[tuple[re.Match[str], str]]:
    """Each matching variable with its value (read from the file for ``_FILE``), files first so values win."""
    for name in sorted(variables, key=lambda n: n.endswith("_FILE"), reverse=True):
        match = pattern.match(name)
        if not match:
            continue
        value = variables[name]  # as is: django-environ would read a leading "$" as a reference
        if match["file"]:
            value = Path(value).read_text("utf-8")
            for newline in ("\r\n", "\n"):
                if value.endswith(newline):
                    value = value[: -len(newline)]
                    break
        yield match, value


@sensitive_variables()
def secrets_from_environment(variables: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``{env: {platform: secret}}`` from the variables named above (a direct value wins over a file)."""
    secrets: dict[str, dict[str, str]] = {}
    for match, value in _values(NAME, variables):
        secrets.setdefault(match["env"].lower(), {})[match["platform"].lower()] = value
    return secrets


@sensitive_variables()
def api_tokens_from_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """``{env: token}`` from ``INTERCOM_IDENTITY_<ENV>_API_TOKEN[_FILE]`` (a direct value wins over a file)."""
    return {match["env"].lower(): value for match, value in _values(TOKEN_NAME, variables)}

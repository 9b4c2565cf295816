"""App versions: what may be recorded, what may be a minimum, and how versions are ordered."""

from __future__ import annotations

import re

from django.utils.translation import gettext

MAX_VERSION_LENGTH = 64

_PART = re.compile(r"[0-9]+|[A-Za-z]+")
_WORD, _END, _NUMBER = 0, 1, 2
_MIN_VERSION = re.compile(r"^[vV]?[0-9]+(\.[0-9]+)*([-+][0-9A-Za-z.+-]+)?\Z")
# What an app may report: it looks like a release number (a digit first; then letters,
# digits, ".", "-", "+" and "_"), so a header of junk never becomes a version row.
_RECORDED_VERSION = re.compile(rf"^[0-9][0-9A-Za-z.+_-]{{0,{MAX_VERSION_LENGTH - 1}}}\Z")


def clean_version(value: str) -> str:
    """An app version as recorded: stripped, then a digit first, letters, digits, ".", "-",
    "+" and "_", at most 64 characters; ValueError otherwise."""
    version = value.strip()
    if not _RECORDED_VERSION.match(version):
        raise ValueError(
            gettext(
                "An app version starts with a digit and holds letters, digits, '.', '-', '+' and '_' "
                "(at most %(max)d characters), e.g. '5.2.0'."
            )
            % {"max": MAX_VERSION_LENGTH}
        )
    return version


def clean_min_version(value: str) -> str:
    """A minimum sending version: a release number such as "5.2.0" (or "v5.2.0", "5.2.0-beta.1").

    Stricter than what apps may report, because a typo here (``banana``) would count every
    version as sending and open the enforcement guard.
    """
    version = value.strip()
    if not version or len(version) > MAX_VERSION_LENGTH or not (version.isascii() and version.isprintable()):
        raise ValueError(f"A minimum version is 1 to {MAX_VERSION_LENGTH} printable ASCII characters, e.g. '5.2.0'.")
    if not _MIN_VERSION.match(version):
        raise ValueError(gettext("%(version)r is not a release number such as '5.2.0'.") % {"version": version})
    return version


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for app versions: "5.10.0" after "5.9.2", "5.2.0-beta" before "5.2.0", "1.0" equal to "1.0.0".

    Numbers compare as numbers, words (pre-release tags) before the end of the version,
    trailing zeros do not count. Only ASCII digits and letters count: it never raises.
    """
    version = version[1:] if version[:1] in ("v", "V") else version  # "v2.0.0" is 2.0.0
    parts = [(_NUMBER, int(part)) if part.isdigit() else (_WORD, part.lower()) for part in _PART.findall(version)]
    release = 0
    while release < len(parts) and parts[release][0] == _NUMBER:
        release += 1
    numbers = parts[:release]
    while numbers and numbers[-1] == (_NUMBER, 0):  # 1.0.0 is 1
        numbers.pop()
    return (*numbers, *parts[release:], (_END, 0))


def at_least(version: str, minimum: str) -> bool:
    """Whether ``version`` is ``minimum`` or later; False when no minimum is set."""
    return bool(minimum) and version_key(version) >= version_key(minimum)

"""App versions: what may be recorded, what may be a minimum, and how versions are ordered."""

from __future__ import annotations

import re

# The version web pages rendered by the template tags are recorded under: not a release number
# (so no minimum ever covers it, and no request can claim it through ``X-App-Version``).
WEB_PAGE = "page"

_PART = re.compile(r"[0-9]+|[A-Za-z]+")
_WORD, _END, _NUMBER = 0, 1, 2


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
    return bool(minimum) and version != WEB_PAGE and version_key(version) >= version_key(minimum)

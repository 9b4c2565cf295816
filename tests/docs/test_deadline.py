"""``docs/deadline.md``: every example runs exactly as printed (the shell lines through ``call_command``, the
Python blocks with ``exec``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from intercom_identity.conf import conf
from tests.helpers import fenced_blocks, manage_py

pytestmark = pytest.mark.django_db

CRON_FIELD = re.compile(r"^(\*|\d+)$")


def test_the_deadline_pages_commands_run(today: Callable[[str], None]) -> None:
    [commands] = fenced_blocks("deadline.md", "sh")
    for line in commands.splitlines():
        manage_py(line)


def test_the_deadline_pages_settings_are_what_they_say(settings: Any) -> None:
    on, off = fenced_blocks("deadline.md", "python")
    for block, expected in ((on, date(2027, 1, 31)), (off, None)):
        namespace: dict[str, Any] = {}
        exec(block, namespace)  # noqa: S102 - the documentation's own example
        settings.INTERCOM_IDENTITY_DEADLINE = namespace["INTERCOM_IDENTITY_DEADLINE"]
        assert expected == conf.DEADLINE

"""The command refuses arguments it cannot use with a clear message and exit 2, never a traceback.

Arguments that are not UTF-8 bytes reach Python as lone surrogates (``surrogateescape``), which
neither the database nor the hasher can encode; a NUL (possible from ``call_command``, not from
a shell) is refused by PostgreSQL. Found by the adversarial pass.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intercom_identity.models import RolloutPhase
from tests.conftest import configure

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "args",
    [
        ("hash", "development", "ios", "--user-id", "\udcff"),
        ("hash", "development", "ios", "--email", "jane\udce9@example.com"),
        ("history", "--environment", "\udcff"),
        ("phase", "dev\udcffelopment", "ios", "off"),
        ("adoption", "dev\udcff", "ios"),
        ("mode", "de\x00v", "ios", "jwt"),
        ("history", "--environment", "a\x00"),
        ("hash", "development", "ios", "--user-id", "4\x002"),
    ],
)
def test_arguments_that_are_not_text_are_a_usage_error(args: tuple[str, ...]) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    with pytest.raises(CommandError, match="not text") as raised:
        call_command("intercom_identity", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value).isprintable()

"""The README's settings snippet (installation step 3), run as printed, without ``make test-install``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

README = Path(__file__).resolve().parent.parent / "README.md"
STEP = re.compile(r"<!-- install-step: settings\.py -->\n[ ]*```python\n(?P<body>.*?)\n[ ]*```", re.S)
KEY = "yq4Zp6L7m0f8lJ1gqS1-tX0vTn3pQ0v3mWJQ2Dk1s8A="


def settings_after_the_snippet(*, debug: bool) -> dict[str, Any]:
    match = STEP.search(README.read_text("utf-8"))
    assert match, "README.md has no settings.py install step"
    namespace: dict[str, Any] = {"DEBUG": debug, "INSTALLED_APPS": [], "MIDDLEWARE": []}  # as startproject has
    exec(compile(textwrap.dedent(match["body"]), "README.md", "exec"), namespace)  # noqa: S102 - the README's text
    return namespace


def test_in_debug_without_a_key_it_leaves_the_fallback_to_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERCOM_IDENTITY_KEY", raising=False)
    settings = settings_after_the_snippet(debug=True)
    assert "INTERCOM_IDENTITY_ENCRYPTION_KEYS" not in settings  # the app's default: [] -> W001 in DEBUG
    assert settings["INSTALLED_APPS"] == ["intercom_identity"]


def test_without_debug_and_without_a_key_it_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERCOM_IDENTITY_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="Set INTERCOM_IDENTITY_KEY"):
        settings_after_the_snippet(debug=False)


@pytest.mark.parametrize("debug", [True, False])
def test_with_a_key_it_uses_it(monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    monkeypatch.setenv("INTERCOM_IDENTITY_KEY", KEY)
    assert settings_after_the_snippet(debug=debug)["INTERCOM_IDENTITY_ENCRYPTION_KEYS"] == [KEY]

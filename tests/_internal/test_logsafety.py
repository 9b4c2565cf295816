"""The control-character filter on the app's loggers (_internal/logsafety.py)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import intercom_identity
from intercom_identity._internal import logsafety

PACKAGE = Path(intercom_identity.__file__).parent


def logger_names_in_the_package() -> set[str]:
    """Every ``logging.getLogger(...)`` of the package, ``__name__`` resolved."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "getLogger" and node.args:
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    names.add(argument.value)
                elif isinstance(argument, ast.Name) and argument.id == "__name__":
                    names.add(module)
    return names - {"django.security.{exc.__class__.__name__}"}


def test_every_logger_of_the_app_is_filtered() -> None:
    names = {name for name in logger_names_in_the_package() if name.startswith("intercom_identity")}
    assert names
    assert names <= set(logsafety.APP_LOGGERS)
    for name in logsafety.APP_LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(each, logsafety.NeutraliseControlCharacters) for each in filters) == 1


def test_install_is_idempotent() -> None:
    logsafety.install()
    logsafety.install()
    filters = logging.getLogger("django.security.DisallowedModelAdminLookup").filters
    assert sum(isinstance(each, logsafety.NeutraliseControlCharacters) for each in filters) == 1


def test_the_apps_own_records_are_escaped_arguments_and_exceptions_too(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    try:
        try:
            raise KeyError("inner\r\nFORGED inner")
        except KeyError as inner:
            raise ValueError("outer\x1b[31m\nFORGED outer") from inner
    except ValueError:
        logging.getLogger("intercom_identity.workspace").exception("Label %s", "evil\r\nFORGED line")
    (record,) = caplog.records
    text = logging.Formatter("%(message)s").format(record)
    assert "\r" not in text
    assert "\x1b" not in text
    assert not any(line.startswith("FORGED") for line in text.splitlines())
    assert record.getMessage() == "Label evil\\r\\nFORGED line"
    assert "ValueError: outer\\x1b[31m\\nFORGED outer" in text
    assert "direct cause" in text
    assert "KeyError" in text
    assert "test_logsafety.py" in text  # the frames are kept


def test_a_record_whose_arguments_do_not_fit_is_left_to_logging() -> None:
    record = logging.LogRecord("intercom_identity", logging.INFO, __file__, 1, "%d", ("x",), None)
    logsafety.neutralise(record)
    assert record.args == ("x",)

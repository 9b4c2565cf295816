"""Each setting is declared once (``conf.Settings``): its check, its default and its reference row follow from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from intercom_identity.checks import ALL_CHECKS
from intercom_identity.conf import PREFIX, SETTINGS, Setting, conf, python_literal, registry, settings_table

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "intercom_identity"
START, END = "<!-- --8<-- [start:settings-table] -->\n", "<!-- --8<-- [end:settings-table] -->\n"
ROW = re.compile(r"^\| `(?P<setting>[A-Z_]+)` \| `(?P<default>(?:[^`\\]|\\.)*)` \|", re.M)


REFERENCE = ROOT / "docs" / "reference" / "settings.md"


def reference_table() -> str:
    text = REFERENCE.read_text("utf-8")
    assert text.count(START) == 1, "docs/reference/settings.md: the settings table's start marker is missing"
    assert text.count(END) == 1, "docs/reference/settings.md: the settings table's end marker is missing"
    return text.split(START, 1)[1].split(END, 1)[0]


def accept(setting: str, value: Any) -> Any:
    return value


def test_the_reference_lists_every_setting_with_its_default_and_no_other() -> None:
    listed = {m["setting"]: m["default"].replace(r"\|", "|") for m in ROW.finditer(reference_table())}
    declared = {s.setting: python_literal(s.default) for s in SETTINGS}
    assert sorted(declared.keys() - listed.keys()) == [], "settings the reference's table lacks"
    assert sorted(listed.keys() - declared.keys()) == [], "stale settings in the reference's table"
    assert {name: listed[name] for name in declared} == declared, "defaults the reference states wrongly"


def test_the_reference_holds_the_generated_table_verbatim() -> None:
    assert reference_table() == settings_table(), "run `make settings-table`"


def test_the_code_mentions_no_setting_it_does_not_declare() -> None:
    """A setting read or named anywhere in the package (a message, a hint) is a declared one."""
    names = re.compile(rf'{PREFIX}([A-Z][A-Z0-9_]*)|\{{PREFIX\}}([A-Z][A-Z0-9_]*)|PREFIX \+ "([A-Z0-9_]+)"')
    mentioned = {
        "".join(match.groups(""))
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        for match in names.finditer(path.read_text("utf-8"))
    }
    assert mentioned, "the pattern finds nothing: the test is broken"
    assert sorted(mentioned - {s.name for s in SETTINGS}) == []


def test_a_setting_cannot_be_declared_without_a_check_id() -> None:
    with pytest.raises(TypeError, match="check"):
        Setting(default=1, validate=accept, doc="A new setting.")  # type: ignore[call-arg]


@pytest.mark.parametrize("check", ["", "E1", "E0001", "W002", "intercom_identity.E026", "e026"])
def test_a_check_id_is_an_error_id(check: str) -> None:
    with pytest.raises(ValueError, match="check id"):
        Setting(default=1, validate=accept, check=check, doc="A new setting.")


@pytest.mark.parametrize("doc", ["", "  ", "Two\nlines."])
def test_the_doc_is_one_line_of_the_table(doc: str) -> None:
    with pytest.raises(ValueError, match="one non-empty line"):
        Setting(default=1, validate=accept, check="E026", doc=doc)


def test_two_settings_cannot_share_a_check_id() -> None:
    class Clash:
        FIRST = Setting(default=1, validate=accept, check="E026", doc="One.")
        SECOND = Setting(default=2, validate=accept, check="E026", doc="Two.")

    with pytest.raises(ValueError, match="E026"):
        registry(Clash)


def test_a_declared_setting_is_named_defaulted_validated_and_kept() -> None:
    calls: list[tuple[str, Any]] = []

    def count(setting: str, value: Any) -> int:
        calls.append((setting, value))
        return int(value)

    class Local:
        LIMIT = Setting(default="3", validate=count, check="E026", doc="A limit.")

    local = Local()
    assert (Local.LIMIT.name, Local.LIMIT.setting) == ("LIMIT", f"{PREFIX}LIMIT")
    assert registry(Local) == (Local.LIMIT,)
    assert local.LIMIT == 3
    assert local.LIMIT == 3
    assert calls == [(f"{PREFIX}LIMIT", "3")]  # validated once, then kept


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_a_malformed_setting_is_reported_once_under_its_declared_id(setting: Setting[Any]) -> None:
    """``object()`` suits no setting: exactly the declared check reports it (of the settings' checks: a
    deployment-shaped warning such as W004 on a database server is not about this setting), and ``conf``
    raises."""
    settings_checks = {f"intercom_identity.{declared.check}" for declared in SETTINGS}
    with override_settings(**{setting.setting: object()}):
        with pytest.raises(ImproperlyConfigured, match=setting.setting):
            getattr(conf, setting.name)
        ids = [message.id for check in ALL_CHECKS for message in check() if message.id in settings_checks]
    assert ids == [f"intercom_identity.{setting.check}"]


def test_unknown_settings_come_from_the_declarations() -> None:
    from intercom_identity.conf import unknown_settings

    assert unknown_settings() == []
    with override_settings(INTERCOM_IDENTITY_LIMIT=3):
        assert unknown_settings() == [f"{PREFIX}LIMIT"]


def test_the_table_escapes_pipes_and_shows_python_defaults() -> None:
    class Local:
        FIELDS = Setting(default=("a", "b"), validate=accept, check="E026", doc="`str | None`, at most 1.")

    table = settings_table(registry(Local))
    assert table.splitlines()[2] == f'| `{PREFIX}FIELDS` | `["a", "b"]` | `E026` | `str \\| None`, at most 1. |'

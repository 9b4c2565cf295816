"""SECURITY.md backs its claims with tests by name: each test and file it names exists (a renamed
or removed test would leave a claim unbacked, a moved module a reader lost)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `tests/x/test_y.py::test_z`, and `::test_w` continuing the file named before it in the same cell.
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?::(test_\w+)`|`((?:tests|intercom_identity)/[\w/.]+\.\w+)`")


def named_tests() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for line in (ROOT / "SECURITY.md").read_text().splitlines():
        current = None
        for match in REFERENCE.finditer(line):
            path, test, alone = match.groups()
            if alone:
                current = alone
                found.append((alone, None))
                continue
            current = path or current
            assert current, f"`::{test}` names no file before it: {line[:80]}"
            found.append((current, test))
    return found


def test_every_test_security_md_names_exists() -> None:
    references = named_tests()
    assert len([test for _path, test in references if test]) >= 15
    for path, test in references:
        source = ROOT / path
        assert source.is_file(), path
        if test:
            functions = {
                node.name for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.FunctionDef)
            }
            assert test in functions, f"{path}::{test}"

"""docs/performance.md: each figure's command names a benchmark script and options it has."""

from __future__ import annotations

import re

from tests.helpers import DOCS

COMMAND_RE = re.compile(r"Command: `\.venv/bin/python (bench/\w+\.py)((?: --[\w-]+(?: \d+)?)*)`")


def test_every_figure_names_its_command_and_the_script_has_its_options() -> None:
    text = (DOCS / "performance.md").read_text("utf-8")
    commands = COMMAND_RE.findall(text)
    assert len(commands) == text.count("Command: ") == 4
    for script, options in commands:
        source = (DOCS.parent / script).read_text("utf-8")
        for option in re.findall(r"--[\w-]+", options):
            assert f'"{option}"' in source, (script, option)


def test_no_placeholder_is_left() -> None:
    text = (DOCS / "performance.md").read_text("utf-8")
    assert not re.search(r"\b[A-Z]+_(TABLE|BYTES)\b", text)

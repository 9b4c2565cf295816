"""docs/performance.md: every benchmark `make bench` runs has its figures there, in order, each section with a
command naming a benchmark script and options it has."""

from __future__ import annotations

import re

from tests.helpers import DOCS

PAGE = DOCS / "performance.md"
COMMAND_RE = re.compile(r"Command: `\.venv/bin/python (bench/\w+\.py)((?: --[\w-]+(?: \d+)?)*)`")
NUMBERS = {"nine": 9, "ten": 10, "eleven": 11, "twelve": 12}


def make_bench_scripts() -> list[str]:
    """The scripts of the Makefile's ``bench`` target, in order."""
    makefile = (DOCS.parent / "Makefile").read_text("utf-8")
    recipe = makefile.split("\nbench: ", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"\$\(BIN\)/python (bench/\w+\.py)", recipe)


def test_every_figure_names_its_command_and_the_script_has_its_options() -> None:
    text = PAGE.read_text("utf-8")
    commands = COMMAND_RE.findall(text)
    assert len(commands) == text.count("Command: ") >= 6
    for script, options in commands:
        source = (DOCS.parent / script).read_text("utf-8")
        for option in re.findall(r"--[\w-]+", options):
            assert f'"{option}"' in source, (script, option)


def test_every_benchmark_is_in_the_table_and_counted() -> None:
    """The table at the top lists benchmarks 1 to N without a gap, and says how many scripts `make bench` runs."""
    text = PAGE.read_text("utf-8")
    numbers = [int(number) for number in re.findall(r"(?m)^\| (\d+) \| ", text)]
    assert numbers == list(range(1, len(numbers) + 1))
    scripts = make_bench_scripts()
    assert scripts, "the Makefile's bench target runs no script"
    for script in scripts:
        assert f"`{script}`" in text, script
    (said,) = re.findall(r"`make bench`\s+runs (\w+) scripts, which hold (\w+) benchmarks", text)
    assert (NUMBERS[said[0]], NUMBERS[said[1]]) == (len(scripts), len(numbers))


def test_the_resolver_table_quotes_a_measurement() -> None:
    """Benchmark 7, moved from docs/workspaces.md: three resolvers, each a measured ratio."""
    section = PAGE.read_text("utf-8").split("## Environment resolvers (benchmark 7)", 1)[1].split("\n## ", 1)[0]
    ratios = [float(value) for value in re.findall(r"\| \*\*([\d.]+)\N{MULTIPLICATION SIGN}\*\* \|", section)]
    assert len(ratios) == 3


def test_no_placeholder_is_left() -> None:
    text = PAGE.read_text("utf-8")
    assert not re.search(r"\b[A-Z]+_(TABLE|BYTES)\b", text)
    assert "BENCH_" not in text

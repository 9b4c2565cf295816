"""Finding the matrix's interpreters without shell set-up (``tests/interpreters.py``, used by ``make matrix``)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests import interpreters


def fake_python(path: Path, prints: str) -> Path:
    """An executable that answers the version probe with ``prints``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {prints}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def pyenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pyenv root of fakes, the only one looked in; PATH has nothing of use."""
    root = tmp_path / "pyenv"
    monkeypatch.setattr(interpreters, "pyenv_roots", lambda: [root])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return root


def test_the_newest_patch_release_wins_by_number_not_by_text(pyenv: Path) -> None:
    fake_python(pyenv / "versions" / "3.12.9" / "bin" / "python3.12", "3.12")
    newest = fake_python(pyenv / "versions" / "3.12.10" / "bin" / "python3.12", "3.12")
    fake_python(pyenv / "versions" / "3.12.11t" / "bin" / "python3.12", "3.12")  # free-threaded: not this one
    assert interpreters.find("3.12") == newest


def test_an_interpreter_must_run_as_the_version_it_is_named_for(pyenv: Path) -> None:
    fake_python(pyenv / "versions" / "3.13.0" / "bin" / "python3.13", "3.11")
    assert interpreters.find("3.13") is None


def test_path_is_searched_but_not_pyenvs_shims(pyenv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_python(tmp_path / "shims" / "python3.10", "3.10")
    monkeypatch.setenv("PATH", str(tmp_path / "shims"))
    assert interpreters.find("3.10") is None  # a shim runs only the versions pyenv has selected
    system = fake_python(tmp_path / "bin" / "python3.10", "3.10")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert interpreters.find("3.10") == system


def test_pyenv_root_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "custom"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    roots = interpreters.pyenv_roots()
    assert roots[:2] == [tmp_path / "custom", tmp_path / "home" / ".pyenv"]


def test_link_makes_python_names_and_names_each_missing_one(
    pyenv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for version in ("3.10", "3.11", "3.12"):
        fake_python(pyenv / "versions" / f"{version}.1" / "bin" / f"python{version}", version)
    links = tmp_path / "links"
    assert interpreters.main(["--link", str(links)]) == 1
    assert sorted(path.name for path in links.iterdir()) == ["python3.10", "python3.11", "python3.12"]
    assert (links / "python3.11").resolve() == pyenv / "versions" / "3.11.1" / "bin" / "python3.11"
    err = capsys.readouterr().err
    assert "ERROR: Python 3.13 is missing" in err
    assert "pyenv install 3.13" in err
    assert "3.12 is missing" not in err
    fake_python(pyenv / "versions" / "3.13.0" / "bin" / "python3.13", "3.13")
    assert interpreters.main(["--link", str(links)]) == 0

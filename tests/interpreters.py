"""Finds the Python interpreters the matrix and the install-path tests run on, without anyone's shell set-up.

CI runs with a plain environment: no ``pyenv init``, so ``python3.13`` may not be on ``PATH`` (and pyenv's
shim for it fails unless that version is selected). This looks in pyenv's versions folder first
(``$PYENV_ROOT``, else ``~/.pyenv``), then on ``PATH``, and runs each candidate to be sure of its version.

``python tests/interpreters.py --link DIR`` links ``DIR/python3.X`` to each required interpreter, so that
tox (``PATH=DIR:$PATH tox``) finds them by their usual names; it fails, naming each one that is missing.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

REQUIRED = ("3.10", "3.11", "3.12", "3.13")  # requires-python and the classifiers say so; tox.ini tests each
PATCH_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")  # pyenv folders such as 3.13.0 (not 3.13.0t, 3.13-dev)


def pyenv_roots() -> list[Path]:
    """``$PYENV_ROOT``, then ``~/.pyenv`` by ``$HOME`` and by the account's own home (CI may change ``HOME``)."""
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    roots += [Path.home() / ".pyenv", Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pyenv"]
    return list(dict.fromkeys(roots))


def _pyenv_candidates(version: str) -> list[Path]:
    """pyenv's builds of ``version``, newest patch release first."""
    found: list[tuple[int, Path]] = []
    for root in pyenv_roots():
        versions = root / "versions"
        if not versions.is_dir():
            continue
        for folder in versions.iterdir():
            match = PATCH_RELEASE.match(folder.name)
            if match and f"{match[1]}.{match[2]}" == version:
                found.append((int(match[3]), folder / "bin" / f"python{version}"))
    return [path for _, path in sorted(found, key=lambda item: item[0], reverse=True)]


def _path_candidate(version: str) -> list[Path]:
    on_path = shutil.which(f"python{version}")
    if on_path is None or "/shims/" in on_path:  # a pyenv shim runs only the versions pyenv has selected
        return []
    return [Path(on_path)]


def _runs_as(candidate: Path, version: str) -> bool:
    try:
        completed = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return completed.returncode == 0 and completed.stdout.strip() == version


def find(version: str) -> Path | None:
    """The interpreter for ``version`` ("3.13"), or None when this machine has none."""
    for candidate in [*_pyenv_candidates(version), *_path_candidate(version)]:
        if candidate.exists() and _runs_as(candidate, version):
            return candidate
    return None


def missing_message(version: str) -> str:
    places = ", ".join(str(root / "versions" / f"{version}.*") for root in pyenv_roots())
    return (
        f"Python {version} is missing: no python{version} on PATH (pyenv shims do not count) nor in {places}. "
        f"Install it (pyenv install {version}, or your system's python{version} package)."
    )


def link(directory: Path, versions: tuple[str, ...] = REQUIRED) -> list[str]:
    """Link ``directory/python3.X`` to each interpreter found; returns the messages for the missing ones."""
    directory.mkdir(parents=True, exist_ok=True)
    missing = []
    for version in versions:
        target = find(version)
        name = directory / f"python{version}"
        if name.is_symlink() or name.exists():
            name.unlink()
        if target is None:
            missing.append(missing_message(version))
            continue
        name.symlink_to(target)
        print(f"Python {version}: {target}")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--link", type=Path, metavar="DIR", required=True, help="Folder to put python3.X links in.")
    args = parser.parse_args(argv)
    missing = link(args.link)
    for message in missing:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

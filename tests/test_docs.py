"""The documentation and the code in step: the reference names every setting, system check, command and
code the app has, the README stays short and renders on the package index, and every example a reader
would paste is marked for the test that runs it as printed."""

from __future__ import annotations

import argparse
import copy
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.management import load_command_class
from django.test import override_settings

from intercom_identity._internal.logsafety import APP_LOGGERS
from intercom_identity.checks import MESSAGES
from intercom_identity.credentials.verification import REASONS
from intercom_identity.models import Environment
from intercom_identity.workspace.drift import CODES as DRIFT_CODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

# A fenced block of one of these languages is something a reader pastes: it must be preceded by an
# ``<!-- example: KIND -->`` marker (run as printed by the test named for that kind) or by
# ``<!-- not-run: why -->`` (a fragment shown with its context, output, another language's SDK); login-stacks.md's
# ``<!-- recipe: NAME -->`` blocks are run by tests/contrib/test_docs.py.
PASTED = {
    "python",
    "py",
    "sh",
    "shell",
    "bash",
    "console",
    "django",
    "html",
    "cron",
    "js",
    "javascript",
    "kotlin",
    "swift",
    "dart",
    "typescript",
    "tsx",
    "jsx",
}
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S,
)
MARKER = re.compile(r"<!--\s*(?P<kind>example|not-run|install-step|recipe)\s*:\s*(?P<what>[^>]*?)\s*-->\s*$")


def pages() -> list[Path]:
    return [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[tuple[int, str, str | None, str]]:
    """(line, language, the marker before the block or None, the block's text, dedented)."""
    text = path.read_text("utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        body = re.sub(rf"(?m)^{re.escape(match['indent'])}", "", match["body"])
        line = text.count("\n", 0, match.start()) + 1
        found.append((line, match["lang"].lower(), marker.group(0) if marker else None, body))
    return found


def examples(kind: str) -> list[tuple[str, str]]:
    """Every block marked ``<!-- example: KIND -->``, as (where, text)."""
    found = []
    for path in pages():
        for line, _lang, marker, body in blocks(path):
            if marker and MARKER.search(marker)["kind"] == "example" and MARKER.search(marker)["what"] == kind:
                found.append((f"{path.relative_to(ROOT)}:{line}", body))
    return found


def test_every_block_a_reader_would_paste_is_marked() -> None:
    unmarked = [
        f"{path.relative_to(ROOT)}:{line} ({lang})"
        for path in pages()
        for line, lang, marker, _body in blocks(path)
        if lang in PASTED and marker is None
    ]
    assert unmarked == []


def _reference(name: str) -> str:
    return (DOCS / "reference" / name).read_text("utf-8")


def test_every_system_check_is_in_the_reference_and_nothing_else() -> None:
    declared = {factory("").id for factory in MESSAGES.values()}
    documented = set(re.findall(r"intercom_identity\.[EW]\d{3}", _reference("checks.md")))
    documented |= {f"intercom_identity.{short}" for short in re.findall(r"`([EW]\d{3})`", _reference("checks.md"))}
    assert declared - documented == set(), "checks the reference lacks"
    assert documented - declared == set(), "checks the reference names that do not exist"


def test_every_subcommand_is_in_the_reference() -> None:
    parser = load_command_class("intercom_identity", "intercom_identity").create_parser(
        "manage.py", "intercom_identity"
    )
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    subcommands = set(actions[0].choices)
    text = _reference("commands.md")
    missing = sorted(name for name in subcommands if not re.search(rf"intercom_identity {re.escape(name)}\b", text))
    assert missing == []


def test_every_reason_and_drift_code_is_in_the_reference() -> None:
    text = _reference("codes.md")
    missing = sorted(code for code in [*REASONS, *DRIFT_CODES] if f"`{code}`" not in text)
    assert missing == []


def test_the_readme_is_short_and_renders_on_the_package_index() -> None:
    text = README.read_text("utf-8")
    assert len(text.encode("utf-8")) <= 15 * 1024
    relative = [link for link in re.findall(r"\]\(([^)]+)\)", text) if not link.startswith(("https://", "mailto:"))]
    assert relative == [], "the package index shows the README without the repository: absolute links only"


# What the pages name in the package: a dotted name (``intercom_identity.rollout.tallies``), a file under it
# (``intercom_identity/_internal/crypto.py``, or ``credentials/verification.py`` relative to it), or one of the
# repository's own files (``tests/...``, ``bench/...``, ``project/...``).
DOTTED = re.compile(r"(?<![\w/.-])intercom_identity(?:\.[A-Za-z_]\w*)+")
FILE = re.compile(
    r"(?<![\w/.-])(?:intercom_identity|tests|bench|project|_internal|admin|contrib|credentials|messenger|rollout|"
    r"workspace|templatetags|management)/[\w/.-]*\w"
)
SUBPACKAGES = {"_internal", "admin", "contrib", "credentials", "messenger", "rollout", "workspace", "templatetags"}


def _unreleased_changelog() -> str:
    text = (ROOT / "CHANGELOG.md").read_text("utf-8")
    return text.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]


def _named_texts() -> list[tuple[str, str]]:
    """(where, text) of every page a reader follows: the released changelog sections name what was, not what is."""
    texts = [(str(path.relative_to(ROOT)), path.read_text("utf-8")) for path in [*pages(), ROOT / "SECURITY.md"]]
    return [*texts, ("CHANGELOG.md [Unreleased]", _unreleased_changelog())]


def _dotted_name_exists(name: str) -> bool:
    """A module, or an attribute of one; or a name the app gives a logger, a permission or a system check."""
    short = name.removeprefix("intercom_identity.")
    codenames = {codename for codename, _label in Environment._meta.permissions}
    if name in APP_LOGGERS or short in codenames or re.fullmatch(r"[EW]\d{3}", short):
        return True
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def _file_exists(path: str) -> bool:
    package = ROOT / "intercom_identity"
    candidates = [ROOT / path, package / "static" / path, package / "templates" / path]
    if path.split("/", 1)[0] in SUBPACKAGES:
        candidates.append(package / path)
    return any(candidate.exists() for candidate in candidates)


def test_every_module_and_file_the_pages_name_exists() -> None:
    """The pages name modules and files after the layout they were written under: a name that moved fails here."""
    missing = [
        f"{where}: {name}"
        for where, text in _named_texts()
        for name in sorted(set(DOTTED.findall(text)))
        if not _dotted_name_exists(name)
    ]
    missing += [
        f"{where}: {path}"
        for where, text in _named_texts()
        for path in sorted(set(FILE.findall(text)))
        if not _file_exists(path)
    ]
    assert missing == []


def test_the_readmes_documentation_list_links_every_page() -> None:
    section = README.read_text("utf-8").split("## Documentation\n", 1)[1].split("\n## ", 1)[0]
    linked = set(re.findall(r"\(https://intercom-identity\.readthedocs\.io/en/latest/([\w/-]+)\.html\)", section))
    pages = {path.relative_to(DOCS).with_suffix("").as_posix() for path in DOCS.rglob("*.md")} - {"index"}
    assert pages - linked == set(), "pages the README's Documentation list does not link"
    assert linked - pages == set(), "links to pages that do not exist"


REQUIREMENT_FILES = ["requirements*.txt", "docs/requirements.txt", "bench/requirements-peers.txt", "constraints/*.txt"]


def _normalized(name: str) -> str:
    """A distribution name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return _normalized(match[1])


def _pinned_and_declared() -> set[str]:
    """Every package a requirements file pins and every one pyproject.toml declares (extras and build too)."""
    names = set()
    for pattern in REQUIREMENT_FILES:
        for path in sorted(ROOT.glob(pattern)):
            for line in path.read_text("utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line and not line.startswith("-"):
                    names.add(_requirement_name(line))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    declared = [
        *project["build-system"]["requires"],
        *project["project"]["dependencies"],
        *(requirement for extra in project["project"]["optional-dependencies"].values() for requirement in extra),
    ]
    return names | {_requirement_name(requirement) for requirement in declared}


def test_every_pinned_package_says_why_on_the_dependencies_page() -> None:
    text = (DOCS / "dependencies.md").read_text("utf-8")
    first_cells = re.findall(r"(?m)^\| ([^|]+) \|", text)
    named = {_normalized(name) for cell in first_cells for name in re.findall(r"`([A-Za-z0-9][\w.-]*)`", cell)}
    assert len(_pinned_and_declared()) > 30
    assert _pinned_and_declared() - named == set()


def _ids(value: object) -> str:
    return str(value).split("\n")[0]


@pytest.mark.parametrize(("where", "code"), examples("python"), ids=_ids)
@pytest.mark.django_db
def test_a_python_example_runs_as_printed(where: str, code: str) -> None:
    """Run in a namespace that has ``user``, a saved user, as the pages' examples assume."""
    user = get_user_model().objects.create_user("reader", "reader@example.com", "pw")
    exec(compile(code, where, "exec"), {"__name__": "example", "user": user})  # noqa: S102 - the docs' examples


def _run_settings_example(where: str, code: str) -> None:
    """A settings snippet: it runs on top of the settings a snippet may extend (copies of this suite's),
    and the app's checks accept the result."""
    extended = ("INSTALLED_APPS", "MIDDLEWARE", "TEMPLATES", "CACHES", "DATABASES")
    originals = {name: copy.deepcopy(getattr(settings, name)) for name in extended}
    namespace: dict[str, Any] = copy.deepcopy(originals)
    exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the docs' examples
    changed = {
        name: value
        for name, value in namespace.items()
        if name.isupper() and (name not in originals or value != originals[name])
    }
    assert changed, f"{where} sets no setting"
    with override_settings(**changed):
        found = checks.run_checks()
    errors = [message for message in found if message.is_serious() and "intercom_identity" in (message.id or "")]
    assert errors == []


@pytest.mark.parametrize(("where", "code"), examples("settings"), ids=_ids)
@pytest.mark.django_db
def test_a_settings_example_runs_as_printed(where: str, code: str) -> None:
    _run_settings_example(where, code)


@pytest.mark.skipif(django.VERSION < (6, 0), reason="Django's own CSP (django.utils.csp) is new in Django 6.0")
@pytest.mark.parametrize(("where", "code"), examples("settings-django6"), ids=_ids)
@pytest.mark.django_db
def test_a_django6_settings_example_runs_as_printed(where: str, code: str) -> None:
    _run_settings_example(where, code)

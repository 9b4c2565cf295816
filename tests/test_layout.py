"""The package's shape: its public API, layers that point one way, and no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import intercom_identity

PACKAGE = Path(intercom_identity.__file__).parent
ROOT = PACKAGE.parent


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in it (``TYPE_CHECKING`` and function bodies too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    targets.append(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.extend(alias.name for alias in node.names)
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_package_has_no_import_cycle_not_even_at_the_type_level() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def _package_of(module: str) -> str:
    return module.rpartition(".")[0]


def misplaced_single_use_modules(graph: dict[str, set[str]]) -> dict[str, str]:
    """Modules imported by exactly one other module but not beside it: module -> its one importer.

    Beside means in the importer's folder or a subfolder of it (``admin/pages/`` for the admin), or,
    for a management command, in ``management/`` (Django takes every module in ``commands/`` for a
    command). ``_internal/`` is exempt: it is the one place for private plumbing, whoever uses it.
    """
    importers: dict[str, set[str]] = {name: set() for name in graph}
    for name, targets in graph.items():
        for target in targets:
            importers[target].add(name)
    misplaced = {}
    for module, users in importers.items():
        if len(users) != 1 or "._internal" in module:
            continue
        (user,) = users
        home, user_home = _package_of(module), _package_of(user)
        if user_home.endswith(".management.commands"):
            user_home = _package_of(user_home)
        if home != user_home and not home.startswith(user_home + "."):
            misplaced[module] = user
    return misplaced


def test_modules_used_by_exactly_one_other_module_sit_beside_it() -> None:
    assert misplaced_single_use_modules(import_graph()) == {}


def test_the_placement_rule_flags_a_helper_away_from_its_one_user() -> None:
    graph = {
        "app.admin.charts": set(),  # used only by a page one folder down
        "app.admin.pages.overview": {"app.admin.charts", "app.admin.pages.table"},
        "app.admin.pages.table": set(),
        "app.rollout.status": set(),  # used only by the command
        "app.management.tallies": set(),  # beside the command: allowed
        "app.management.commands.cmd": {"app.rollout.status", "app.management.tallies"},
        "app._internal.plumbing": set(),  # private plumbing: exempt
        "app.models": {"app._internal.plumbing"},
    }
    assert misplaced_single_use_modules(graph) == {
        "app.admin.charts": "app.admin.pages.overview",
        "app.rollout.status": "app.management.commands.cmd",
    }


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("intercom_identity.exceptions", set()),
        ("intercom_identity.constants", set()),
        ("intercom_identity.validators", {"intercom_identity.exceptions"}),
    ],
)
def test_the_leaves_import_nothing_else_of_the_app(module: str, allowed: set[str]) -> None:
    assert import_graph()[module] <= allowed


def test_reading_the_settings_loads_neither_the_rest_client_nor_its_libraries() -> None:
    code = (
        "import sys, intercom_identity.conf; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'intercom') "
        "or m.startswith('intercom_identity.workspace'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_at_most_twenty_modules_sit_at_the_top_of_the_package() -> None:
    assert len(list(PACKAGE.glob("*.py"))) <= 20


def test_the_migrations_are_an_initial_one_and_the_default_environments() -> None:
    assert sorted(path.name for path in (PACKAGE / "migrations").glob("0*.py")) == [
        "0001_initial.py",
        "0002_default_environments.py",
    ]


def test_every_public_name_can_be_imported_from_the_package() -> None:
    for name in intercom_identity.__all__:
        assert getattr(intercom_identity, name) is not None
    assert dir(intercom_identity) == sorted(intercom_identity.__all__)
    with pytest.raises(AttributeError):
        _ = intercom_identity.not_public  # type: ignore[attr-defined]


def test_the_public_api_names_what_a_login_view_needs() -> None:
    assert {"compute_user_hash", "serve_identity", "identity_payload", "record_client", "forget_user"} <= set(
        intercom_identity.__all__
    )


# Each login library, and the one module of the package that imports it: its own integration (the
# SimpleJWT and dj-rest-auth ones reach DRF through contrib/rest_framework.py). djoser and knox are
# documented recipes, imported by none.
LOGIN_LIBRARIES = {
    "rest_framework": {"contrib/rest_framework.py"},
    "rest_framework_simplejwt": {"contrib/simplejwt.py"},
    "dj_rest_auth": {"contrib/dj_rest_auth.py"},
    "allauth": {"contrib/allauth.py"},
    "djoser": set(),
    "knox": set(),
}


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_each_login_library_is_imported_only_by_its_own_integration() -> None:
    importers: dict[str, set[str]] = {library: set() for library in LOGIN_LIBRARIES}
    for path in PACKAGE.rglob("*.py"):
        for library in top_level_imports(path) & set(LOGIN_LIBRARIES):
            importers[library].add(path.relative_to(PACKAGE).as_posix())
    assert importers == LOGIN_LIBRARIES

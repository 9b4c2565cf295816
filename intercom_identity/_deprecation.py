"""Old import paths kept working while they warn: where a name moved, and how to say so."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib import import_module
from typing import Any


def warn_module_moved(old: str, new: str) -> None:
    """Called by a shim module on import: the whole module is deprecated."""
    warnings.warn(f"{old} is deprecated; import from {new} instead.", DeprecationWarning, stacklevel=3)


def moved_names(module: str, moves: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved (``{name: new module}``) with a warning."""

    def __getattr__(name: str) -> Any:
        new = moves.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} is deprecated; import it from {new} instead.", DeprecationWarning, stacklevel=2)
        return getattr(import_module(new), name)

    return __getattr__

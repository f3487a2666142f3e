"""Helpers for the packages' ``__init__`` modules."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["claim", "lazy_names"]


def claim(package: str, names: Iterable[str], namespace: Mapping[str, Any]) -> None:
    """Make public objects say they come from ``package``, not from its private modules.

    Args:
        package: the package's ``__name__``.
        names: its ``__all__``.
        namespace: its ``globals()``.
    """
    for name in names:
        obj = namespace[name]
        if getattr(obj, "__module__", "").startswith(package + "._"):
            with contextlib.suppress(AttributeError, TypeError):  # constants keep theirs
                obj.__module__ = package


def lazy_names(
    package: str, home_of: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name from its home module when first asked.

    So a package can list names whose modules are heavy (quart, hypercorn, the runner)
    without loading them until they are used.

    Args:
        package: the package's ``__name__``; homes are relative to it.
        home_of: each lazy name and the module (``"._app"``) that defines it.
        namespace: the package's ``globals()``, where a loaded name is kept.

    Returns:
        The function to bind as the package's ``__getattr__``.
    """

    def getattr_(name: str) -> Any:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return getattr_

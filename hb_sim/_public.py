"""Helpers for the packages' ``__init__`` modules."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["claim"]


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

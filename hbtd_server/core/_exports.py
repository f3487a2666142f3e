"""How a package presents its public names: the one mechanism of hbtd_server, hb_agent and hb_sim.

A package's public face is its ``__all__``. Its ``__init__`` imports those names from its
private modules, or names their homes for loading on first use (PEP 562) when the home is
heavy: ``hbtd_server`` must not load its web stack for the agent, which needs only the core,
and ``hb-sim --version`` must not load the runner. Then it calls :func:`export_names`, which
makes each object say it comes from the package, not from a private module, as httpx does.

It lives in the core because the core is the one stdlib-only module all three packages import.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["export_names"]


def export_names(
    namespace: dict[str, Any], lazy: Mapping[str, Iterable[str]] | None = None
) -> Callable[[str], Any]:
    """Present a package's ``__all__`` as its own; load the ``lazy`` names when first asked.

    Args:
        namespace: the package's ``globals()``, with its ``__name__`` and ``__all__``.
        lazy: each heavy home module (relative, like ``"._app"``) and the public names it
            defines; they are imported on first access and then kept in ``namespace``.

    Returns:
        The package's ``__getattr__``: bind it when ``lazy`` is given.

    Raises:
        ImportError: a name in ``__all__`` is neither imported nor given a lazy home.
    """
    package: str = namespace["__name__"]
    home_of = {name: home for home, names in (lazy or {}).items() for name in names}
    for name in namespace["__all__"]:
        if name in namespace:
            _claim(package, namespace[name])
        elif name not in home_of:
            raise ImportError(f"{package} lists {name!r} but neither imports it nor is lazy")

    def getattr_(name: str) -> Any:
        home = home_of.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        _claim(package, value)
        namespace[name] = value
        return value

    return getattr_


def _claim(package: str, obj: object) -> None:
    """Say ``obj`` comes from ``package`` if it was defined in one of its private modules."""
    if getattr(obj, "__module__", "").startswith(package + "._"):
        with contextlib.suppress(AttributeError, TypeError):  # constants keep theirs
            obj.__module__ = package

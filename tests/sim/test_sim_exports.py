"""hb_sim's public names: each package lists its API once, and no module imports in a cycle."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import hb_sim

PACKAGES = ("scenario", "hsm", "fleet", "run", "view", "watch")
ROOT = Path(hb_sim.__file__).parent


@pytest.mark.parametrize("name", ["hb_sim", *(f"hb_sim.{p}" for p in PACKAGES)])
def test_every_public_name_is_exported_once(name: str) -> None:
    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__))
    for export in module.__all__:
        assert hasattr(module, export), export


@pytest.mark.parametrize("name", [f"hb_sim.{p}" for p in PACKAGES])
def test_no_private_module_leaks(name: str) -> None:
    module = importlib.import_module(name)
    # pytest rewrites the asserts of a plugin's package (hb_sim ships one) and leaves its
    # helpers, "@py_builtins" and "@pytest_ar", in each module: not names anyone can import.
    public = {
        n for n in dir(module) if n.isidentifier() and not n.startswith("_") and n != "annotations"
    }
    assert public <= set(module.__all__)


def test_public_objects_belong_to_their_package() -> None:
    assert hb_sim.hsm.MockHsm.__module__ == "hb_sim.hsm"
    assert hb_sim.load_scenario.__module__ == "hb_sim.scenario"
    assert hb_sim.Scenario.__module__ == "hb_sim.scenario"
    assert hb_sim.run_scenario.__module__ == "hb_sim.run"


def _imports(path: Path) -> set[str]:
    """The hb_sim modules ``path`` imports at module level (not inside functions)."""
    # The package a relative import is resolved against: the folder holding the module.
    base = ".".join(path.relative_to(ROOT.parent).parent.parts)
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If):  # TYPE_CHECKING blocks do not run
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = base.split(".")
            target = ".".join(parts[: len(parts) - node.level + 1])
            found.add(f"{target}.{node.module}" if node.module else target)
    return found


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = {t.removesuffix(".__init__") for t in _imports(path)}
    # A package's __init__ imports its own modules; a module importing its own package's
    # __init__ would be a cycle, and so would two packages importing each other.
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*trail, node, nxt]))
            if nxt in graph and state.get(nxt) is None:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node, [])


def test_packages_use_each_other_through_their_public_names() -> None:
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        for line in text.splitlines():
            stripped = line.strip()
            if re.match(r"from \.\.\w+\._", stripped):
                raise AssertionError(f"{path.relative_to(ROOT)}: {stripped}")
            assert "hbtd_server._" not in stripped or not stripped.startswith(("from", "import")), (
                f"{path.relative_to(ROOT)}: {stripped}"
            )
            assert not re.match(r"(from|import) hbtd_server(\.core)?\._", stripped), stripped

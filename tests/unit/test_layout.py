"""The layout keeps its promises (#16): no import cycles, no reaching into another package's
private modules, and no module that has grown several jobs.

Imports are read with ``ast`` (nothing is imported); those under ``if TYPE_CHECKING:`` are type
hints, not dependencies, and are left out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import REPO

PACKAGES = ("hbtd_server", "hb_agent", "hb_sim")
#: Packages whose ``__all__`` lists only what other packages, the benchmarks and users call;
#: tests are white-box and import the private modules.
OUTWARD_FACES = ("hbtd_server.http", "hb_agent")
MAX_FACE = 15
#: Lines a module may have before it must be split; the exceptions are each one thing.
MAX_LINES = 600
ONE_THING: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from _imports(node)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module an ``import from`` statement of a module in ``package`` reads from."""
    if not node.level:
        return node.module or ""
    base = package
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` imports at run time."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            bases = [alias.name for alias in node.names]
            targets.update(b for b in bases if b in known)
            continue
        full = _absolute(node, package)
        if full in known:
            targets.add(full)
        for alias in node.names:  # ``from package import submodule``
            if f"{full}.{alias.name}" in known:
                targets.add(f"{full}.{alias.name}")
    targets.discard(name)
    return targets


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_import_cycles_between_subpackages() -> None:
    # hbtd_server's layers: core <- health, engine <- store, notify, ops <- http <- service <- cli.
    # Each unit is a subpackage or a top-level module; the package's own __init__ is lazy.
    def unit(name: str) -> str:
        return ".".join(name.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for source, targets in graph().items():
        if source in PACKAGES:
            continue
        edges.setdefault(unit(source), set()).update(
            unit(t) for t in targets if unit(t) != unit(source) and t not in PACKAGES
        )
    assert cycles(edges) == []


def test_no_package_imports_another_packages_private_module() -> None:
    offences = []
    for source, targets in graph().items():
        for target in targets:
            owner, _, leaf = target.rpartition(".")
            if leaf.startswith("_") and not leaf.startswith("__"):
                importer = source if modules()[source].name == "__init__.py" else None
                importer = importer or source.rpartition(".")[0]
                # A package may use its own private modules and those of its ancestors.
                if not (importer == owner or importer.startswith(owner + ".")):
                    offences.append(f"{source} imports {target}")
    assert offences == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_small(name: str) -> None:
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES or name in ONE_THING, f"{name}: {lines} lines"


def test_every_public_name_is_exported_once() -> None:
    import importlib

    for name in modules():
        if name.rpartition(".")[2].startswith("_") or name.endswith(("__main__",)):
            continue
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            continue
        assert len(exported) == len(set(exported)), name
        for public in exported:
            assert hasattr(module, public), f"{name} lists {public} but has no such name"


@pytest.mark.parametrize("face", OUTWARD_FACES)
def test_a_public_face_lists_what_other_packages_use(face: str) -> None:
    import importlib

    used: set[str] = set()
    sources = {**modules(), **{f"bench.{p.stem}": p for p in (REPO / "bench").glob("*.py")}}
    for name, path in sources.items():
        if name == face or name.startswith(face + "."):
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and _absolute(node, package) == face:
                used.update(alias.name for alias in node.names)
    exported = importlib.import_module(face).__all__
    assert sorted(set(exported) - used) == []
    assert len(exported) <= MAX_FACE


def test_the_engine_keeps_intake_and_detection_and_its_fields_stay_its_own() -> None:
    # Its other jobs have owners (HsmBooks, ReplicaState, ChangeJournal): nothing outside
    # reaches into its tracker, its ledger or its private fields.
    engine = modules()["hbtd_server.engine"]
    assert len(engine.read_text().splitlines()) < 350
    reach = re.compile(r"\bengine\.(tracker|ledger|_\w+)\b")
    offences = [
        f"{name}: {match.group(0)}"
        for name, path in modules().items()
        if name.startswith("hbtd_server") and path != engine
        for match in reach.finditer(path.read_text())
    ]
    assert offences == []


def test_code_comments_carry_no_issue_numbers() -> None:
    # History lives in git; an issue number in a comment goes stale.
    cited = re.compile(r"\(#\d+|, #\d+\)|\bissue #\d+")
    offences = [
        f"{name}:{number}"
        for name, path in modules().items()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if cited.search(line)
    ]
    assert offences == []

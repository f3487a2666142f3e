"""The package's public names, and what importing the core costs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hbtd_server
import hbtd_server.core


def test_every_public_name_resolves_once() -> None:
    assert len(set(hbtd_server.__all__)) == len(hbtd_server.__all__)
    for name in hbtd_server.__all__:
        assert getattr(hbtd_server, name) is not None
    for name in hbtd_server.core.__all__:
        assert getattr(hbtd_server.core, name) is not None


def test_importing_the_core_does_not_load_the_web_stack() -> None:
    code = (
        "import sys, hbtd_server.core; "
        "print(sorted(m for m in ('quart', 'hypercorn', 'httpx', 'trio') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_http_package_exports_each_name_once() -> None:
    import hbtd_server.http

    assert len(set(hbtd_server.http.__all__)) == len(hbtd_server.http.__all__)
    for name in hbtd_server.http.__all__:
        assert getattr(hbtd_server.http, name) is not None


def test_the_tracker_imports_no_hypercorn() -> None:
    # hbtd has one HTTP server, its own (#21); hypercorn only serves hb-sim's mock HSM. (Quart
    # itself still imports hypercorn's modules for its ``app.run``: that is Quart's, not ours.)
    package = Path(hbtd_server.__file__).parent
    importers = []
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "hypercorn" for name in names):
                importers.append(str(source.relative_to(package)))
    assert importers == []

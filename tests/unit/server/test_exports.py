"""The package's public names, and what importing the core costs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hbtd_server
import hbtd_server.core
from hbtd_server.core import export_names


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


def test_a_lazy_name_is_loaded_on_first_use_and_kept() -> None:
    namespace: dict[str, Any] = {"__name__": "hbtd_server", "__all__": ["missing_for_extra"]}
    getattr_ = export_names(namespace, lazy={"._extras": ("missing_for_extra",)})
    assert "missing_for_extra" not in namespace
    loaded = getattr_("missing_for_extra")
    assert loaded is hbtd_server.missing_for_extra
    assert namespace["missing_for_extra"] is loaded
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        getattr_("nothing")


def test_public_objects_say_they_come_from_the_package() -> None:
    class Thing:
        pass

    Thing.__module__ = "pkg._private"
    export_names({"__name__": "pkg", "__all__": ["Thing", "LIMIT"], "Thing": Thing, "LIMIT": 5})
    assert Thing.__module__ == "pkg"


def test_a_listed_name_that_is_neither_imported_nor_lazy_is_an_error() -> None:
    with pytest.raises(ImportError, match="'Ghost'"):
        export_names({"__name__": "pkg", "__all__": ["Ghost"]})

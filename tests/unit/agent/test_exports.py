"""The package's public list: every name exported once, and nothing private leaks."""

from __future__ import annotations

import ast
import subprocess
import sys

import hb_agent


def test_every_public_name_is_exported_once_and_exists() -> None:
    assert len(hb_agent.__all__) == len(set(hb_agent.__all__))
    for name in hb_agent.__all__:
        assert not name.startswith("_")
        assert hasattr(hb_agent, name), name


def test_public_classes_present_themselves_as_the_package() -> None:
    assert hb_agent.AnswerRefused.__module__ == "hb_agent"
    assert hb_agent.fetch_bounded.__module__ == "hb_agent"


def test_the_agent_stays_lean() -> None:
    # The agent lives on every node within 40 MB: of the tracker only its stdlib-only core
    # (hbtd_server imports its web stack lazily). A fresh interpreter, since this test session
    # has imported everything. (On a node even less is installed: test_bare_install.py.)
    code = (
        "import sys, hb_agent.cli, httpx; httpx.AsyncClient();"
        " print(sorted({k.split('.')[0] for k, v in sys.modules.items() if v is not None}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    loaded = set(ast.literal_eval(output))
    heavy = {"quart", "hypercorn", "flask", "confluent_kafka", "prometheus_client", "yaml"}
    assert loaded & heavy == set()
    assert {"trio", "httpx", "click"} <= loaded

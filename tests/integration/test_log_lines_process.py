"""One log line across the programs, and the right level for what happened (#22).

hbtd, hb-agent, the mock HSM and a report's tracker.log all write ``time LEVEL logger: message``
(JSON where asked); a replica's first election and a clean stop are INFO, not warnings.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from hb_sim.ports import free_port
from tests import REPO
from tests.etcd_support import EtcdServer
from tests.polling import until

from .conftest import launch_hbtd

pytestmark = pytest.mark.integration

#: ``2026-11-25 10:13:51,019 WARNING hbtd: Heartbeat stopped -- ...``
LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S.*"
)
JSON_KEYS = {"timestamp", "level", "logger", "event", "message"}


def hb_sim() -> list[str]:
    return [sys.executable, "-c", "from hb_sim.cli import main; main()"]


def assert_lines(text: str) -> list[str]:
    lines = text.splitlines()
    assert lines
    for line in lines:
        assert LINE.fullmatch(line), line
    return lines


def assert_json_lines(text: str) -> list[dict[str, object]]:
    documents = [json.loads(line) for line in text.splitlines()]
    assert documents
    for document in documents:
        assert set(document) >= JSON_KEYS, document
    return documents


async def run_until(command: list[str], log: Path, seen: str, *, sig: int = signal.SIGTERM) -> int:
    """Start ``command`` with its stderr in ``log``, wait for ``seen`` there, then signal it."""
    with log.open("wb") as sink:
        process = await trio.lowlevel.open_process(command, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        await until(lambda: seen in log.read_text(), within=30)
    finally:
        process.send_signal(sig)
        with trio.fail_after(15):
            code = await process.wait()
    return code


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_hb_agent_writes_hbtds_line(tmp_path: Path, log_format: str) -> None:
    log = tmp_path / "agent.log"
    command = [sys.executable, "-m", "hb_agent", "run", "--config", "", "--interval", "0.2"]
    command += ["--xname", "x1000c0s0b0n0", "--url", f"http://127.0.0.1:{free_port()}"]
    command += ["--log-format", log_format]
    assert await run_until(command, log, "heartbeat failed") == 0
    if log_format == "text":
        lines = assert_lines(log.read_text())
        assert any(" WARNING hb_agent: heartbeat failed: POST http://" in x for x in lines)
    else:
        documents = assert_json_lines(log.read_text())
        assert {d["logger"] for d in documents} == {"hb_agent"}


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_mock_hsm_writes_hbtds_line(tmp_path: Path, log_format: str) -> None:
    log = tmp_path / "hsm.log"
    command = [*hb_sim(), "mock-hsm", "--port", "0", "--log-format", log_format]
    assert await run_until(command, log, "mock HSM listening") == 0
    text = log.read_text()
    if log_format == "text":
        lines = assert_lines(text)
        assert any(" INFO hb_sim: mock HSM listening on http://127.0.0.1:" in x for x in lines)
        assert lines[-1].endswith(" INFO hb_sim: mock HSM stopped")
    else:
        assert assert_json_lines(text)[-1]["message"] == "mock HSM stopped"


def test_a_reports_tracker_log_has_hbtds_line(tmp_path: Path) -> None:
    scenario = Path(__file__).parents[2] / "scenarios" / "single-node-death.yaml"
    report = tmp_path / "report"
    done = subprocess.run(
        [*hb_sim(), "run", str(scenario), "--report", str(report)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    lines = assert_lines((report / "tracker.log").read_text())
    assert any(
        " WARNING hbtd: Heartbeat stopped -- might be dead: 1 component " in x for x in lines
    )


async def test_a_first_election_and_a_clean_stop_are_info(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    args = ["--nosm", "--kv_url", etcd_server.url, "--lease_ttl", "2"]
    async with launch_hbtd(tmp_path, free_port(), *args) as hbtd:
        await until(lambda: "leads now" in hbtd.log(), within=30)
        assert await hbtd.terminate() == 0
        lines = assert_lines(hbtd.log())
    leads = [x for x in lines if "leads now" in x]
    assert len(leads) == 1
    assert " INFO hbtd.replica: " in leads[0]
    assert not [x for x in lines if " WARNING " in x or " ERROR " in x]


async def test_operations_md_shows_the_lines_of_a_default_start(tmp_path: Path) -> None:
    # The "default start" block of docs/operations.md, line by line, against a real start with
    # no HSM answering; "..." in the page stands for anything, and the page's address, port
    # and HSM port for the test's.
    page = (REPO / "docs" / "operations.md").read_text()
    block = page.split("A default\nstart", 1)[1].split("```\n", 2)[1]
    documented = [line for line in block.splitlines() if line]
    assert len(documented) == 5
    hsm_port = free_port()
    async with launch_hbtd(
        tmp_path, free_port(), "--sm_url", f"http://localhost:{hsm_port}/hsm/v2"
    ) as hbtd:
        await until(lambda: "HSM not reachable" in hbtd.log(), within=30)
        assert await hbtd.terminate() == 0
        lines = [line.split(" ", 2)[2] for line in assert_lines(hbtd.log())]
    for line in documented:
        pattern = re.escape(line).replace(r"\.\.\.", ".*").replace("28500", r"\d+")
        pattern = pattern.replace("27779", str(hsm_port)).replace(r"0\.0\.0\.0", r"[\d.]+")
        assert any(re.fullmatch(pattern, seen) for seen in lines), (line, lines)

"""A peer that answers every request with a body that never ends, against the real processes.

The acceptance of bounded reads: over 15 s against a loopback peer sending 200s with an endless
or 2 GB body as fast as the socket takes it (or an endless header block), hb-agent's peak RSS
stays under 64 MB and it keeps trying; hbtd with that peer as its HSM grows by less than 100 MB
and answers ``/liveness``. Memory is read from ``/proc`` of the child process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from tests.hostile_peer import hostile_peer
from tests.polling import until
from tests.processes import kill

from .conftest import launch_hbtd

pytestmark = pytest.mark.integration

MB = 1024 * 1024
WATCH = 15.0  # seconds, as the issue measured
AGENT_PEAK = 64 * MB
HBTD_GROWTH = 100 * MB


def _status_kib(pid: int, field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/<pid>/status``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def _node_tree(tmp_path: Path, xname: str) -> Path:
    root = tmp_path / xname
    (root / "etc/cray").mkdir(parents=True)
    (root / "etc/cray/xname").write_text(xname + "\n")
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/tainted").write_text("0\n")
    return root


@pytest.mark.parametrize("mode", ["endless", "2gb", "headers"])
async def test_the_agent_stays_small_and_keeps_trying(tmp_path: Path, mode: str) -> None:
    async with hostile_peer(mode) as peer:
        log_path = tmp_path / "agent.log"
        command = [sys.executable, "-m", "hb_agent", "run", "--config", ""]
        command += ["--root", str(_node_tree(tmp_path, "x1000c0s0b0n0"))]
        command += ["--url", f"{peer.url}/hmi/v1", "--interval", "0.5"]
        with log_path.open("wb") as log_file:
            process = await trio.lowlevel.open_process(
                command, stdout=log_file, stderr=subprocess.STDOUT
            )
        try:
            await until(lambda: peer.requests > 0, within=30)  # start-up on a loaded machine
            await trio.sleep(WATCH / 2)
            halfway = peer.requests
            await trio.sleep(WATCH / 2)
            assert process.returncode is None, log_path.read_text(errors="replace")
            peak = _status_kib(process.pid, "VmHWM")
            print(f"agent, {mode}: peak RSS {peak / MB:.1f} MB, {peer.requests} requests")
            assert peak < AGENT_PEAK, f"peak RSS {peak / MB:.1f} MB"
            assert peer.requests > halfway  # still trying in the second half
        finally:
            await kill(process)
    log = log_path.read_text(errors="replace")
    expected = "RemoteProtocolError" if mode == "headers" else "answer is over the bound"
    lines = [line for line in log.splitlines() if expected in line]
    assert lines, log
    assert len(lines) < peer.requests  # repeats of one failure are grouped, not one each


@pytest.mark.parametrize("mode", ["endless", "2gb"])
async def test_hbtd_with_such_an_hsm_stays_small_and_live(tmp_path: Path, mode: str) -> None:
    async with (
        hostile_peer(mode) as peer,
        launch_hbtd(tmp_path, free_port(), "--sm_url", peer.url, "--interval", "1") as hbtd,
        httpx.AsyncClient(timeout=5) as client,
    ):
        start = _status_kib(hbtd.process.pid, "VmRSS")
        await until(lambda: peer.requests > 0, within=30)
        deadline = trio.current_time() + WATCH
        while trio.current_time() < deadline:
            assert (await client.get(f"{hbtd.url}/liveness")).status_code == 204
            await trio.sleep(0.5)
        growth = _status_kib(hbtd.process.pid, "VmHWM") - start
        print(f"hbtd, {mode}: RSS {start / MB:.1f} MB, grew {growth / MB:.1f} MB")
        assert growth < HBTD_GROWTH, f"grew by {growth / MB:.1f} MB"
        assert peer.requests >= 3  # it keeps polling HSM's readiness
        health = (await client.get(f"{hbtd.url}/health")).text
    assert "with more than 65536 bytes" in hbtd.log()
    assert "more than 65536 bytes" in health  # /health says why HSM is not ready

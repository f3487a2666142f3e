"""``hb-sim mock-hsm`` as a real process on loopback: it says where it listens, serves, and
stops cleanly on SIGINT and SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trio

from tests.processes import kill

pytestmark = pytest.mark.integration

LISTENING = re.compile(r"mock HSM listening on (http://127\.0\.0\.1:\d+)/hsm/v2")


def hb_sim_command() -> list[str]:
    script = Path(sys.executable).with_name("hb-sim")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from hb_sim.cli import main; main()"]


async def read_until(stream: trio.abc.ReceiveStream, pattern: re.Pattern[str]) -> tuple[str, str]:
    seen = ""
    while (match := pattern.search(seen)) is None:
        chunk = await stream.receive_some()
        if not chunk:
            raise AssertionError(f"process ended before saying {pattern.pattern!r}:\n{seen}")
        seen += chunk.decode()
    return match.group(1), seen


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_serves_and_stops_on_signal(signum: signal.Signals) -> None:
    command = [*hb_sim_command(), "mock-hsm", "--port", "0", "--power-polling"]
    command += ["--nodes", "x1000c0s[0-1]b0n[0-1]"]
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        with trio.fail_after(20):
            base, log = await read_until(process.stderr, LISTENING)
        async with httpx.AsyncClient(base_url=base) as client:
            ready = await client.get("/hsm/v2/service/ready")
            assert ready.json() == {"code": 0, "message": "HSM is healthy"}
            patched = await client.patch(
                "/hsm/v2/State/Components/BulkStateData",
                json={"ComponentIDs": ["x1000c0s1b0n1"], "State": "Ready"},
            )
            assert patched.status_code == 204
            listed = await client.get("/hsm/v2/State/Components", params={"state": "Ready"})
            assert [c["ID"] for c in listed.json()["Components"]] == ["x1000c0s1b0n1"]
            recorded = (await client.get("/mock/requests")).json()
            assert [r["status"] for r in recorded] == [200, 204, 200]
            # Served, the mock stamps requests with wall-clock time another process can use.
            assert all(abs(r["time"] - time.time()) < 60 for r in recorded)
        assert "4 components" in log
        process.send_signal(signum)
        with trio.fail_after(20):
            code = await process.wait()
            rest = b""
            while chunk := await process.stderr.receive_some():
                rest += chunk
        assert code == 0
        assert "mock HSM stopped" in rest.decode()
    finally:
        await kill(process)
        await process.stderr.aclose()

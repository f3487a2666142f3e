"""The agent as a real process against a real ``hbtd`` on loopback (issue 5, acceptance 1)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from tests.processes import kill

from .conftest import launch_hbtd

pytestmark = pytest.mark.integration

INTERVAL = 0.5  # fast heartbeats keep the tests short; jitter is the default 10 %
STOP_LIMIT = 1.0  # the issue: SIGTERM makes the agent exit within 1 s


def node_tree(tmp_path: Path, xname: str) -> Path:
    root = tmp_path / xname
    (root / "etc/cray").mkdir(parents=True)
    (root / "etc/cray/xname").write_text(xname + "\n")
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/tainted").write_text("0\n")
    return root


@dataclass
class AgentProcess:
    process: trio.Process
    log_path: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    async def stop(self) -> tuple[int, float]:
        """SIGTERM; return the exit code and how long the exit took."""
        start = trio.current_time()
        self.process.send_signal(signal.SIGTERM)
        with trio.fail_after(10):
            code = await self.process.wait()
        return code, trio.current_time() - start


@asynccontextmanager
async def agent(tmp_path: Path, xname: str, url: str, *args: str) -> AsyncIterator[AgentProcess]:
    log_path = tmp_path / f"agent-{xname}.log"
    command = [sys.executable, "-m", "hb_agent", "run", "--config", ""]
    command += ["--root", str(node_tree(tmp_path, xname)), "--url", url]
    command += ["--interval", str(INTERVAL), *args]
    with log_path.open("wb") as log_file:
        process = await trio.lowlevel.open_process(
            command, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        yield AgentProcess(process, log_path)
    finally:
        await kill(process)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float) -> float:
    """Poll ``check`` until true; return the time it took (fails after ``within``)."""
    start = trio.current_time()
    with trio.fail_after(within):
        while True:
            if await check():
                break
            await trio.sleep(0.05)
    return trio.current_time() - start


def heartbeating(client: httpx.AsyncClient, xname: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            response = await client.get(f"/hbstate/{xname}")
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.json()["Heartbeating"] is True

    return check


async def test_heartbeats_survive_a_tracker_restart_and_sigterm_is_fast(tmp_path: Path) -> None:
    xname = "x1000c0s0b0n0"
    port = free_port()
    url = f"http://127.0.0.1:{port}/hmi/v1"
    tracker_args = ("--nosm", "--warntime", "5", "--errtime", "10")
    async with (
        launch_hbtd(tmp_path, port, *tracker_args) as first,
        agent(tmp_path, xname, url) as node,
        httpx.AsyncClient(base_url=url, timeout=2) as client,
    ):
        await eventually(heartbeating(client, xname), within=10)

        # `hb-agent send`: one heartbeat, exit status 0 when it was taken.
        root = node_tree(tmp_path, "x1000c0s0b0n1")
        # Given only the tracker's address, as `hb-sim watch --target` takes it (#15).
        send = [sys.executable, "-m", "hb_agent", "send", "--config", ""]
        send += ["--root", str(root), "--url", url.removesuffix("/hmi/v1")]
        sent = await trio.run_process(send, capture_stderr=True, capture_stdout=True)
        assert sent.returncode == 0
        assert sent.stdout.decode().splitlines() == [
            f"heartbeat sent: x1000c0s0b0n1 Status 'OK' to {url}"
        ]
        assert await heartbeating(client, "x1000c0s0b0n1")()

        # The tracker dies. The agent keeps trying, and says so without flooding the log.
        lines_before = len(node.log_lines())
        await kill(first.process)
        failed = await trio.run_process(send, capture_stderr=True, check=False)
        assert failed.returncode == 1
        assert b"heartbeat not sent" in failed.stderr
        await trio.sleep(4.0)  # about 10 attempts at INTERVAL with backoff
        assert node.process.returncode is None
        outage_lines = node.log_lines()[lines_before:]
        assert 1 <= len(outage_lines) <= 4, outage_lines
        assert "heartbeat failed" in outage_lines[0]

        # It comes back (same port, empty memory): heartbeats resume within one interval.
        async with launch_hbtd(tmp_path, port, *tracker_args):
            took = await eventually(heartbeating(client, xname), within=10)
            # One interval (at most INTERVAL * 1.1 with jitter) plus polling and a loaded CI
            # machine's scheduling.
            assert took <= INTERVAL * 1.1 + 0.5, took
            await trio.sleep(0.1)  # let the recovery line reach the log file
            assert any("heartbeats resumed" in line for line in node.log_lines())

            code, took = await node.stop()
            assert code == 0
            assert took < STOP_LIMIT, took
            assert "Traceback" not in "\n".join(node.log_lines())


@dataclass
class CaptureHsm:
    """A stand-in HSM that is always ready and records every PATCH body."""

    port: int
    patches: list[dict[str, object]]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hsm/v2"

    def flagged(self, xname: str) -> set[str]:
        """The flags of every PATCH that named ``xname``."""
        return {
            str(patch.get("Flag"))
            for patch in list(self.patches)
            if xname in patch.get("ComponentIDs", [])  # type: ignore[operator]
        }


@contextmanager
def capture_hsm() -> Iterator[CaptureHsm]:
    patches: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._reply(200 if self.path.endswith("/service/ready") else 404)

        def do_PATCH(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.endswith("/State/Components/BulkStateData"):
                patches.append(json.loads(body))
                self._reply(204)
            else:
                self._reply(404)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield CaptureHsm(server.server_address[1], patches)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_announced_shutdown_raises_no_warning_or_alert(tmp_path: Path) -> None:
    leaving, crashing, staying = "x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b0n2"
    with capture_hsm() as hsm:
        args = ("--sm_url", hsm.url, "--warntime", "1", "--errtime", "2", "--interval", "1")
        async with launch_hbtd(tmp_path, free_port(), *args) as tracker:
            url = tracker.url
            async with (
                agent(tmp_path, leaving, url, "--announce-shutdown") as announcer,
                agent(tmp_path, crashing, url) as silent,
                # Keeps heartbeating throughout, so the fleet never falls silent as a whole
                # (the tracker's silence guard would rightly hold alerts then).
                agent(tmp_path, staying, url),
                httpx.AsyncClient(base_url=url, timeout=2) as client,
            ):
                for xname in (leaving, crashing, staying):
                    await eventually(heartbeating(client, xname), within=10)
                for node in (announcer, silent):
                    code, took = await node.stop()
                    assert code == 0
                    assert took < STOP_LIMIT, took
                assert any("announced the shutdown" in line for line in announcer.log_lines())

                # The control: the node that left without a word is reported dead...
                async def alerted() -> bool:
                    return "Alert" in hsm.flagged(crashing)

                await eventually(alerted, within=15)
                # ...well after errtime; the announced one never was, and is not tracked.
                assert hsm.flagged(leaving) & {"Warning", "Alert"} == set()
                state = (await client.get(f"/hbstate/{leaving}")).json()
                assert state == {"XName": leaving, "Heartbeating": False}
                assert await heartbeating(client, staying)()
                assert hsm.flagged(staying) & {"Warning", "Alert"} == set()

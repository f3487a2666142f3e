"""Acceptance 5: ``hb-sim watch`` as a user sees it, in a real terminal (tmux), against a real
``hbtd`` and a real mock HSM on loopback. The screen is read back with ``capture-pane``."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from tests.integration.conftest import launch_hbtd
from tests.processes import kill
from tests.sim.test_mock_hsm_process import LISTENING, hb_sim_command, read_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

NODES = "x1000c0s[0-1]b[0-1]n[0-1]"
BEATING = ["x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b1n1"]
DEADLINE = 20.0


@asynccontextmanager
async def mock_hsm() -> AsyncIterator[str]:
    command = [*hb_sim_command(), "mock-hsm", "--port", "0", "--nodes", NODES]
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        with trio.fail_after(DEADLINE):
            base, _ = await read_until(process.stderr, LISTENING)
        yield base
    finally:
        await kill(process)
        await process.stderr.aclose()


#: Runs a command in the pane and writes its exit status on the screen, as a shell would.
#: The wrapper itself outlives Ctrl-C (a handler, not SIG_IGN, so the child gets the default).
WRAPPER = """\
import signal, subprocess, sys
signal.signal(signal.SIGINT, lambda signum, frame: None)
print(f"exit status {subprocess.call(sys.argv[1:])}", flush=True)
signal.pause()
"""
EXIT_STATUS = re.compile(r"exit status (-?[0-9]+)")


def squeeze(screen: str) -> str:
    """The screen with runs of blanks counted as one space."""
    return "\n".join(" ".join(line.split()) for line in screen.splitlines())


class Tmux:
    """A private tmux server (its own socket name) running one command in a session."""

    def __init__(self, socket: Path, config: Path) -> None:
        self.base = ["tmux", "-S", str(socket), "-f", str(config)]

    async def run(self, *args: str) -> str:
        result = await trio.run_process([*self.base, *args], capture_stdout=True)
        return result.stdout.decode()

    async def start(self, command: list[str], *, width: int, height: int) -> None:
        # A terminal's size comes from the terminal, not from COLUMNS/LINES of this process.
        wrapped = ["env", "-u", "COLUMNS", "-u", "LINES", sys.executable, "-c", WRAPPER]
        size = ["-x", str(width), "-y", str(height)]
        await self.run("new-session", "-d", "-s", "watch", *size, shlex.join(wrapped + command))

    async def screen(self, *, history: bool = False) -> str:
        scroll = ["-J", "-S", "-200"] if history else []
        return await self.run("capture-pane", "-p", *scroll, "-t", "watch")

    async def wait_for(self, *fragments: str, history: bool = False) -> str:
        """Poll the screen until every fragment shows (blanks squeezed); return the screen."""
        screen = ""
        with trio.move_on_after(DEADLINE):
            while True:
                screen = await self.screen(history=history)
                if all(fragment in squeeze(screen) for fragment in fragments):
                    return screen
                await trio.sleep(0.1)
        raise AssertionError(f"the screen never showed {fragments}:\n{screen}")

    async def ctrl_c(self) -> tuple[int, str]:
        """Press Ctrl-C; return the command's exit status and the screen left behind."""
        await self.run("send-keys", "-t", "watch", "C-c")
        screen = await self.wait_for("exit status", history=True)
        match = EXIT_STATUS.search(screen)
        assert match is not None
        return int(match.group(1)), screen


@asynccontextmanager
async def tmux(tmp_path: Path) -> AsyncIterator[Tmux]:
    config = tmp_path / "tmux.conf"
    config.write_text("set -g status off\n")
    # A private server: its socket in a short temporary directory (socket paths are limited
    # to about 100 bytes), removed with it.
    with tempfile.TemporaryDirectory(prefix="hbw-") as directory:
        server = Tmux(Path(directory) / "tmux.sock", config)
        try:
            yield server
        finally:
            with trio.CancelScope(shield=True):
                await trio.run_process([*server.base, "kill-server"], check=False)


async def test_watch_in_a_terminal_then_ctrl_c(tmp_path: Path) -> None:
    async with (
        launch_hbtd(tmp_path, free_port(), "--nosm") as tracker,
        mock_hsm() as hsm,
        tmux(tmp_path) as term,
    ):
        async with httpx.AsyncClient(base_url=tracker.url) as client:
            for name in BEATING:
                answer = await client.post(
                    f"/heartbeat/{name}",
                    json={"Status": "OK", "TimeStamp": "2026-11-25T10:00:00.000000Z"},
                )
                assert answer.status_code == 200
        command = [*hb_sim_command(), "watch", "--target", f"http://127.0.0.1:{tracker.port}"]
        await term.start([*command, "--hsm", hsm, "--interval", "0.5"], width=120, height=40)
        # One whole frame, as drawn after a poll: counts, the grid and its legend.
        screen = await term.wait_for(
            "■ heartbeating 3 37.5%",
            "X not heartbeating 5 62.5%",
            "□ On/OK 8 100.0%",
            "■ Ready/OK 0 0.0%",
            "Cabinets: 8 nodes in 1 cabinet",
            "x1000c0 □□□□ □□□□",
            "one cell per node",
        )
        lines = screen.splitlines()
        assert lines[0].startswith(f"watch 127.0.0.1:{tracker.port} · HSM 127.0.0.1:")
        assert "up 0:00:" in lines[0]
        assert "no transitions yet" in screen
        assert all(len(line) <= 120 for line in lines)

        status, final = await term.ctrl_c()
        assert status == 0
        assert "hb-sim watch: stopped after 0:00:" in final
        assert "8 nodes: 0 Ready/OK" in final
        assert "Traceback" not in final


async def test_an_unreachable_tracker_shows_one_line_and_ctrl_c_still_exits_0(
    tmp_path: Path,
) -> None:
    names = tmp_path / "nodes.txt"
    names.write_text("x3000c0s19b1n0\nx3000c0s19b2n0\n")
    nowhere = f"http://127.0.0.1:{free_port()}"
    async with tmux(tmp_path) as term:
        command = [*hb_sim_command(), "watch", "--target", nowhere, "--xnames", str(names)]
        await term.start([*command, "--interval", "0.5"], width=100, height=30)
        screen = await term.wait_for(
            f"tracker {nowhere}/hmi/v1/hbstates: unreachable (ConnectError",
            "? unknown 2 100.0%",
            "x3000c0 ??",
        )
        assert "Traceback" not in screen
        status, final = await term.ctrl_c()
        assert status == 0
        assert "Traceback" not in final

"""The daemon wrapper: readiness, watchdog, and a clean stop on a real SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import trio
import trio.testing

from hb_agent._agent import Agent, AgentOptions
from hb_agent._service import serve
from hb_agent._systemd import SystemdNotifier

from .conftest import FakeTracker, make_sender, virtual_wall_clock


async def test_ready_watchdog_and_sigterm(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, tmp_path: Path
) -> None:
    address = str(tmp_path / "notify")
    settled: list[float] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.setblocking(False)
        environ = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "20000000"}
        notifier = SystemdNotifier(environ=environ)
        result: list[int] = []
        async with tracker.client() as client:
            agent = Agent(
                sender=make_sender(client),
                options=AgentOptions(jitter=0.0, announce_shutdown=True),
                wall_clock=virtual_wall_clock,
            )

            async def daemon() -> None:
                settle = lambda: settled.append(trio.current_time())  # noqa: E731
                result.append(await serve(agent, notifier=notifier, settle=settle))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(daemon)
                await trio.sleep(31)
                os.kill(os.getpid(), signal.SIGTERM)
        messages = []
        while True:
            try:
                messages.append(systemd.recv(100).decode())
            except BlockingIOError:
                break
    assert result == [signal.SIGTERM]
    assert settled == [6.0]
    assert messages[0] == "READY=1"
    assert messages[-1] == "STOPPING=1"
    # The watchdog is pinged every half period (10 s) while the loop runs: at 10, 20, 30.
    assert messages.count("WATCHDOG=1") == 3
    assert [beat.body["Status"] for beat in tracker.beats][-2:] == ["OK", "Shutdown"]

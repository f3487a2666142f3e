"""The lean server's accept loop: EMFILE logged once a burst; who makes room at the cap (#12)."""

from __future__ import annotations

import errno
import logging
from typing import Any

import pytest
import trio
import trio.testing

from hbtd_server.http import Limits
from hbtd_server.http._connection import Site
from hbtd_server.http._server import BurstLog, LeanServer


class ExhaustedListener(trio.abc.Listener[trio.SocketStream]):
    """A listener whose accept fails with EMFILE ``failures`` times, then waits for ever."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0

    async def accept(self) -> trio.SocketStream:
        self.attempts += 1
        if self.attempts <= self.failures:
            await trio.lowlevel.checkpoint()
            raise OSError(errno.EMFILE, "Too many open files")
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def no_app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("no request expected")


async def test_emfile_is_logged_once_per_burst_without_traceback(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = LeanServer(Site(no_app, inline=None, limits=Limits(max_connections=10)))
    listener = ExhaustedListener(failures=300)
    caplog.set_level(logging.DEBUG, logger="hbtd.http")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server._accept_loop, listener, nursery)
        await trio.sleep(60)
        assert listener.attempts == 301  # it kept trying, 0.1 s apart
        nursery.cancel_scope.cancel()
    records = [r for r in caplog.records if r.name == "hbtd.http"]
    assert len(records) == 1  # the burst has not cleared: one line so far
    assert "out of file descriptors (EMFILE)" in records[0].getMessage()
    assert all(r.exc_info is None for r in records)
    assert server.out_of_fds.count == 300


def test_burst_log_counts_and_reports_once(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    burst = BurstLog(logging.getLogger("test.burst"), "cap 5 reached", "closed", lambda: now[0])
    caplog.set_level(logging.WARNING, logger="test.burst")
    for _ in range(7):
        burst.hit()
    now[0] = 2.5
    burst.clear()
    burst.clear()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "cap 5 reached: closed until it clears",
        "cap 5 reached: cleared after 2.5 s; closed 7 time(s)",
    ]


class StubConnection:
    """What the eviction walk reads of a connection."""

    def __init__(self, *, idle: bool = False, head_since: float | None = None) -> None:
        self.idle = idle
        self.closing = False
        self.head_since = head_since

    def stuck(self, now: float, after: float) -> bool:
        return self.head_since is not None and now - self.head_since > after


def candidate(server: LeanServer) -> Any:
    """The connection the server would close for a new one (a stub here)."""
    return server._eviction_candidate()


def server_holding(*connections: StubConnection) -> LeanServer:
    server = LeanServer(Site(no_app, inline=None, limits=Limits(max_connections=len(connections))))
    server._connections = dict.fromkeys(connections)  # type: ignore[arg-type]
    return server


async def test_at_the_cap_the_oldest_idle_or_slow_head_makes_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    busy, slow, idle = (
        StubConnection(),
        StubConnection(head_since=trio.current_time()),
        StubConnection(idle=True),
    )
    server = server_holding(busy, slow, idle)
    assert candidate(server) is idle  # the head is not slow yet
    await trio.sleep(2.5)
    assert candidate(server) is slow  # now it is, and it is older than idle
    slow.closing = True
    assert candidate(server) is idle  # one already closing is not taken twice


async def test_evictions_in_flight_are_bounded_and_a_fruitless_walk_is_not_repeated(
    autojump_clock: trio.testing.MockClock,
) -> None:
    idle = [StubConnection(idle=True) for _ in range(40)]
    server = server_holding(*idle)
    for _ in range(16):
        victim = candidate(server)
        assert victim is not None
        victim.closing = True
        server._evicted.add(victim)
    assert candidate(server) is None  # 16 still closing: the newcomer is refused
    server._evicted.clear()
    busy = server_holding(StubConnection(), StubConnection())
    assert candidate(busy) is None
    busy._connections[StubConnection(idle=True)] = None  # type: ignore[index]
    assert candidate(busy) is None  # within 0.1 s of a fruitless walk: no new walk
    await trio.sleep(0.2)
    assert candidate(busy) is not None

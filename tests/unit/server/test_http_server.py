"""The lean server's accept loop: out of file descriptors, it logs a burst, not a flood (#12)."""

from __future__ import annotations

import errno
import logging

import pytest
import trio
import trio.testing

from hbtd_server.http import BurstLog, LeanServer, Limits, Site


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

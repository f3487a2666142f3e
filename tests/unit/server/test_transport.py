"""The lean server's socket stream: bytes intact, fair to other tasks, errors as trio's (#12).

Real connected sockets (a socket pair), so the non-blocking reads and writes and the waits
for readiness are the kernel's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from hbtd_server.http import SocketTransport
from hbtd_server.http._transport import YIELD_EVERY


@asynccontextmanager
async def transport_pair() -> AsyncIterator[tuple[SocketTransport, trio.SocketStream]]:
    """Our transport on one end of a socket pair, trio's own stream on the other."""
    ours, theirs = trio.socket.socketpair()
    transport = SocketTransport(trio.SocketStream(ours))
    peer = trio.SocketStream(theirs)
    try:
        yield transport, peer
    finally:
        await transport.aclose()
        await peer.aclose()


async def test_bytes_arrive_whole_and_in_order_both_ways() -> None:
    # More than any socket buffer holds: the sender must wait for the reader, many times.
    payload = bytes(range(256)) * 16384  # 4 MiB
    async with transport_pair() as (transport, peer):
        received = bytearray()

        async def read_all() -> None:
            while len(received) < len(payload):
                received.extend(await peer.receive_some(65536))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            await transport.send_all(payload)
        assert bytes(received) == payload

        await peer.send_all(b"answer")
        assert await transport.receive_some(100) == b"answer"


async def test_the_peer_closing_reads_as_end_of_stream() -> None:
    async with transport_pair() as (transport, peer):
        await peer.send_all(b"last")
        await peer.aclose()
        assert await transport.receive_some() == b"last"
        assert await transport.receive_some() == b""


async def test_a_reader_with_data_always_waiting_still_lets_others_run() -> None:
    async with transport_pair() as (transport, peer):
        await peer.send_all(b"x" * 100_000)
        others_ran = 0

        async def other_task() -> None:
            nonlocal others_ran
            while True:
                others_ran += 1
                await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(other_task)
            await trio.lowlevel.checkpoint()
            before = others_ran
            for _ in range(4 * YIELD_EVERY):
                assert await transport.receive_some(10) == b"x" * 10
            # without the periodic yield the other task would not have run at all
            assert others_ran - before >= 3
            nursery.cancel_scope.cancel()


async def test_a_cancelled_scope_is_noticed_while_data_keeps_coming() -> None:
    async with transport_pair() as (transport, peer):
        await peer.send_all(b"y" * 100_000)
        calls = 0
        with trio.CancelScope() as scope:
            scope.cancel()
            while True:
                await transport.receive_some(10)
                calls += 1
        assert scope.cancelled_caught
        assert calls < YIELD_EVERY


async def test_a_cancelled_receive_loses_no_byte() -> None:
    # Cancellation is noticed before a read, never after it: what was read is returned.
    data = bytes(range(256)) * 64
    async with transport_pair() as (transport, peer):
        await peer.send_all(data)
        await peer.send_eof()
        got = bytearray()
        for cancel_at in range(1, 3 * YIELD_EVERY, 5):
            with trio.CancelScope() as scope:
                for call in range(3 * YIELD_EVERY):
                    if call == cancel_at:
                        scope.cancel()
                    got.extend(await transport.receive_some(7))
        while piece := await transport.receive_some(7):
            got.extend(piece)
        assert bytes(got) == data


async def test_receive_waits_after_an_answer_until_the_peer_speaks() -> None:
    async with transport_pair() as (transport, peer):
        await transport.send_all(b"answer")
        got: list[bytes] = []

        async def receive() -> None:
            got.append(await transport.receive_some())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            assert got == []
            await peer.send_all(b"next request")
        assert got == [b"next request"]


async def test_errors_are_trios_stream_errors() -> None:
    async with transport_pair() as (transport, peer):
        await peer.aclose()
        # the first writes may still land in the buffer; a later one finds the reset
        with pytest.raises(trio.BrokenResourceError):
            await send_until_refused(transport)
    async with transport_pair() as (transport, _):
        await transport.send_all(b"answer")  # the next receive would wait first
        await transport.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await transport.receive_some()
        with pytest.raises(trio.ClosedResourceError):
            await transport.send_all(b"late")
        with pytest.raises(trio.ClosedResourceError):
            await transport.send_all(b"")


async def send_until_refused(transport: SocketTransport) -> None:
    for _ in range(100):
        await transport.send_all(b"z" * 65536)


async def test_two_tasks_sending_at_once_is_an_error() -> None:
    # Fill the buffer so that the first send waits; the second must not interleave.
    async with transport_pair() as (transport, _), trio.open_nursery() as nursery:
        nursery.start_soon(transport.send_all, b"a" * 8_000_000)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await transport.send_all(b"b")
        nursery.cancel_scope.cancel()


async def test_send_eof_half_closes() -> None:
    async with transport_pair() as (transport, peer):
        await transport.send_eof()
        assert await peer.receive_some() == b""
        await peer.send_all(b"still open this way")
        assert await transport.receive_some() == b"still open this way"


async def test_a_send_the_peer_never_takes_gives_up_after_the_send_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ours, theirs = trio.socket.socketpair()
    ours.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF, 4096)
    transport = SocketTransport(trio.SocketStream(ours), send_timeout=5.0)
    async with trio.SocketStream(theirs) as peer, transport:
        seen: list[float | None] = []

        async def watch() -> None:
            await trio.sleep(1.0)
            seen.append(transport.send_blocked_since)

        assert transport.send_blocked_since is None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            with pytest.raises(trio.BrokenResourceError, match="took nothing for 5 s"):
                await transport.send_all(b"x" * (4 << 20))  # and the peer never reads
        assert trio.current_time() == pytest.approx(5.0)
        assert seen == [0.0]  # it began to wait at once, and said so while it waited
        assert transport.send_blocked_since is None
        del peer


async def test_each_send_has_its_own_bound(autojump_clock: trio.testing.MockClock) -> None:
    # A send the peer takes within the timeout never fails, and the next send starts afresh:
    # two sends that each wait 3 s of a 5 s bound both go through.
    ours, theirs = trio.socket.socketpair()
    ours.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF, 4096)
    transport = SocketTransport(trio.SocketStream(ours), send_timeout=5.0)
    async with trio.SocketStream(theirs) as peer, transport:
        payload = b"y" * 1_000_000
        for _ in range(2):

            async def read_later() -> None:
                await trio.sleep(3.0)
                received = 0
                while received < len(payload):
                    received += len(await peer.receive_some(1 << 20))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_later)
                await transport.send_all(payload)
            assert transport.send_blocked_since is None
        assert trio.current_time() == pytest.approx(6.0)

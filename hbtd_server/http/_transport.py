"""A trio stream over a connected socket that yields only when it waits, or now and then.

trio's ``SocketStream`` makes every receive and send a full checkpoint: a call that succeeds at
once still yields to the scheduler (trio's "cancellation and yielding sandwich"), and a receive
with nothing waiting first fails with EAGAIN and then waits (between a client's requests that
is the rule: a heartbeat client sends its next request only after the answer). On the
heartbeat path that is much of a request's cost: the no-op server of ``bench/noop_lean.py``
costs about 27 µs a request on trio's stream and about 19 µs on this one.

:class:`SocketTransport` reads and writes the socket's file descriptor directly. It waits for
readiness with :func:`trio.lowlevel.wait_readable` and :func:`~trio.lowlevel.wait_writable`
(both checkpoints) only when a call found the socket not ready, and otherwise yields once every
:data:`YIELD_EVERY` calls, so a client that pipelines without pause still lets every other
connection have its turn, and a cancelled scope is noticed within that many calls. After a
send, the next receive waits for readability before it reads: a peer that asked and was
answered rarely has more to say at once, and one that pipelines loses only a pass of the
scheduler.

A send that has to wait for room (the peer stopped reading) waits at most ``send_timeout``
from the first wait of that send, then fails as a broken connection: the transport bounds what
a client that never reads can hold, whatever stream runs over it (TLS included), and
:attr:`SocketTransport.send_blocked_since` tells its owner since when a send waits.

It owns no resource: the file descriptor stays the trio socket's, which closes it. TLS runs on
top of it (``trio.SSLStream(SocketTransport(...))``) like on any other stream. ``os.read`` and
``os.write`` on a socket are POSIX: this is for Linux (and other Unixes), as hbtd is.
"""

from __future__ import annotations

import errno
import math
import os
from typing import Final

import trio

__all__ = ["YIELD_EVERY", "SocketTransport"]

#: Calls that did not wait, at most, between two yields to the scheduler.
YIELD_EVERY: Final = 16
_DEFAULT_RECEIVE_SIZE: Final = 65536


class SocketTransport(trio.abc.HalfCloseableStream):
    """A :class:`trio.abc.HalfCloseableStream` over the socket of ``stream``.

    Args:
        stream: a connected socket stream; closing this transport closes it.
        send_timeout: how long one send may wait for the peer to take bytes (seconds, from
            its first wait); then it fails with ``trio.BrokenResourceError``.
    """

    def __init__(self, stream: trio.SocketStream, *, send_timeout: float = math.inf) -> None:
        self._stream = stream
        self._fd = stream.socket.fileno()
        self._send_timeout = send_timeout
        self._calls_since_yield = 0
        self._sending = False
        self._answered = False
        #: When the send in progress first found the socket's buffer full (trio time).
        self._blocked_since: float | None = None

    @property
    def send_blocked_since(self) -> float | None:
        """When the send in progress began to wait for the peer to read; None: no send waits."""
        return self._blocked_since

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Up to ``max_bytes`` bytes; ``b""`` at the peer's end of stream.

        Raises:
            trio.ClosedResourceError: the transport was closed.
            trio.BrokenResourceError: the connection broke (reset, ...).
            trio.Cancelled: before anything was read, never after.
        """
        size = _DEFAULT_RECEIVE_SIZE if max_bytes is None else max_bytes
        if size < 1:
            raise ValueError("max_bytes must be >= 1")
        if self._fd < 0:
            raise trio.ClosedResourceError("the socket was closed")
        if self._answered:
            # The peer reads what was sent before it says more, so a read now would only find
            # nothing (EAGAIN: a wasted system call and exception): wait first.
            self._answered = False
            self._calls_since_yield = 0
            await trio.lowlevel.wait_readable(self._fd)
        else:
            await self._yield_now_and_then()
        while True:
            try:
                return os.read(self._fd, size)
            except BlockingIOError:
                self._calls_since_yield = 0
                await trio.lowlevel.wait_readable(self._fd)
            except OSError as error:
                raise _stream_error(error) from error

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``, waiting while the socket's buffer is full.

        Raises:
            trio.ClosedResourceError: the transport was closed.
            trio.BrokenResourceError: the connection broke (the peer left, ...), or the peer
                took nothing for ``send_timeout``.
            trio.BusyResourceError: another task is sending.
            trio.Cancelled: before anything was sent, or while waiting for room (then part of
                ``data`` may have gone out, as with any trio stream).
        """
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this stream")
        if self._fd < 0:
            raise trio.ClosedResourceError("the socket was closed")
        self._sending = True
        try:
            await self._yield_now_and_then()
            view = memoryview(data)
            total = len(view)
            sent = 0
            while sent < total:
                try:
                    sent += os.write(self._fd, view[sent:] if sent else view)
                except BlockingIOError:
                    self._calls_since_yield = 0
                    await self._wait_for_room()
                except OSError as error:
                    raise _stream_error(error) from error
            self._answered = True
        finally:
            self._sending = False
            self._blocked_since = None

    async def _wait_for_room(self) -> None:
        # The peer stopped reading: the send may wait, within the send timeout of this send.
        if self._blocked_since is None:
            self._blocked_since = trio.current_time()
        with trio.move_on_at(self._blocked_since + self._send_timeout):
            await trio.lowlevel.wait_writable(self._fd)
            return
        raise trio.BrokenResourceError(
            f"the peer took nothing for {self._send_timeout:g} s: giving up the send"
        )

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the socket can take more bytes."""
        if self._fd < 0:
            raise trio.ClosedResourceError("the socket was closed")
        await trio.lowlevel.wait_writable(self._fd)

    async def send_eof(self) -> None:
        """Shut the sending half (the peer reads end of stream)."""
        await self._stream.send_eof()

    async def aclose(self) -> None:
        """Close the socket."""
        self._fd = -1  # never read or write a number the kernel may give to another socket
        await self._stream.aclose()

    async def _yield_now_and_then(self) -> None:
        # Before the system call, never after it: a cancellation raised here loses nothing
        # (trio's own streams check for it first too).
        self._calls_since_yield += 1
        if self._calls_since_yield >= YIELD_EVERY:
            self._calls_since_yield = 0
            await trio.lowlevel.checkpoint()


def _stream_error(error: OSError) -> trio.BrokenResourceError | trio.ClosedResourceError:
    # As trio's own streams translate socket errors.
    if error.errno == errno.EBADF:
        return trio.ClosedResourceError("the socket was closed")
    return trio.BrokenResourceError(f"socket connection broken: {error}")

"""A broken or hostile HTTP peer on loopback: answers every request with an answer that never ends.

Modes:
    ``endless``: ``200``, no length, then body bytes for ever (as fast as the socket takes them).
    ``2gb``: ``200`` with ``Content-Length: 2147483648``, then the body, as fast as it goes.
    ``headers``: ``200``, then header lines for ever (a header flood).
    ``line``: ``200`` chunked-free JSON lines ``{"result":...`` that never reach their newline.

It counts the requests it saw, so a test can tell that a client keeps trying.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import trio

__all__ = ["MODES", "HostilePeer", "hostile_peer"]

MODES = ("endless", "2gb", "headers", "line")
_CHUNK = b"x" * 65536
_HEADER = b"X-Flood: " + b"y" * 1000 + b"\r\n"


@dataclass
class HostilePeer:
    """What the peer saw. ``url`` is its base URL."""

    port: int
    mode: str
    requests: int = 0
    paths: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, stream: trio.SocketStream) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = await stream.receive_some(65536)
                if not data:
                    return
                head += data
            self.requests += 1
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.paths.append(" ".join(line.split(" ")[:2]))
            if self.mode == "headers":
                await stream.send_all(b"HTTP/1.1 200 OK\r\n")
                while True:
                    await stream.send_all(_HEADER * 64)
            if self.mode == "2gb":
                await stream.send_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2147483648\r\n\r\n"
                )
            else:
                await stream.send_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\n\r\n"
                )
            if self.mode == "line":
                await stream.send_all(b'{"result":{"created":true,"header":{}}}\n{"result":"')
            while True:
                await stream.send_all(_CHUNK)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            await trio.aclose_forcefully(stream)


@asynccontextmanager
async def hostile_peer(mode: str) -> AsyncIterator[HostilePeer]:
    """Serve ``mode`` on a free loopback port for the life of the context."""
    assert mode in MODES, mode
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, _handler_box.handler, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        peer = HostilePeer(port, mode)
        _handler_box.peers[port] = peer
        try:
            yield peer
        finally:
            del _handler_box.peers[port]
            nursery.cancel_scope.cancel()


class _HandlerBox:
    # serve_tcp needs its handler before the port (and so the peer) is known.
    def __init__(self) -> None:
        self.peers: dict[int, HostilePeer] = {}

    async def handler(self, stream: trio.SocketStream) -> None:
        port = stream.socket.getsockname()[1]
        await self.peers[port]._serve(stream)


_handler_box = _HandlerBox()

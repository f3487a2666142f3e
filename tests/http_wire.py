"""HTTP/1.1 on the wire for tests: parse raw response bytes, and an httpx transport that runs
each request through the lean server's connection over an in-memory stream (#12).

No sockets and no real time: the lean server's code path (reader, inline heartbeats, ASGI
bridge, response heads) is what answers, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httptools
import httpx
import trio
import trio.testing

from hbtd_server.http._connection import Connection, Site

__all__ = ["LeanTransport", "RawResponse", "ResponseParser", "read_responses"]


@dataclass
class RawResponse:
    """One parsed response."""

    status: int = 0
    reason: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = False

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


class ResponseParser:
    """Feed bytes, collect complete responses (``head_only`` for answers to HEAD)."""

    def __init__(self) -> None:
        self.responses: list[RawResponse] = []
        self.head_only = False
        self._current = RawResponse()
        self._pieces: list[bytes] = []
        self._parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes | bytearray) -> None:
        """Parse more bytes."""
        self._parser.feed_data(data)

    def finish_at_eof(self) -> None:
        """The server closed: a response without a length ends here (HTTP/1.0 style)."""
        if self._current.status and not self._current.complete:
            self._finish()

    def on_message_begin(self) -> None:
        self._current = RawResponse()
        self._pieces = []

    def on_status(self, reason: bytes) -> None:
        self._current.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._current.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._current.status = self._parser.get_status_code()
        if self.head_only or self._current.status in (100, 204, 304):
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._pieces.append(body)

    def on_message_complete(self) -> None:
        if not self._current.complete:
            self._finish()

    def _finish(self) -> None:
        self._current.body = b"".join(self._pieces)
        self._pieces = []
        self._current.complete = True
        self.responses.append(self._current)


async def read_responses(
    stream: trio.abc.ReceiveStream, count: int, *, head_only: bool = False
) -> tuple[list[RawResponse], bool]:
    """Read ``count`` responses (or until EOF); returns them and whether EOF was seen."""
    parser = ResponseParser()
    parser.head_only = head_only
    while len(parser.responses) < count:
        data = await stream.receive_some(65536)
        if not data:
            parser.finish_at_eof()
            return parser.responses, True
        parser.feed(data)
    return parser.responses, False


def request_bytes(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A request as bytes, with Content-Length when there is a body."""
    lines = [f"{method} {target} HTTP/1.1", "host: hbtd"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body and not any(name.lower() == "content-length" for name, _ in headers):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class LeanTransport(httpx.AsyncBaseTransport):
    """An httpx transport: each request is served by a fresh lean-server connection."""

    def __init__(self, site: Site) -> None:
        self._site = site

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers.raw]
        if any(n.lower() == "transfer-encoding" for n, _ in headers):
            headers = [(n, v) for n, v in headers if n.lower() != "transfer-encoding"]
            headers.append(("content-length", str(len(body))))
        target = request.url.raw_path.decode("ascii")
        lines = [f"{request.method} {target} HTTP/1.1"] + [f"{n}: {v}" for n, v in headers]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(Connection(server, self._site).run)
            await client.send_all(data)
            responses, _ = await read_responses(client, 1, head_only=request.method == "HEAD")
            await client.aclose()
        if not responses:
            raise httpx.RemoteProtocolError("the server closed without an answer")
        response = responses[0]
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )

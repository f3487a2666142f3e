"""A lean HTTP/1.1 heartbeat client on trio + h11, fast enough to play thousands of nodes.

httpx costs about a millisecond of CPU per request; this sends a keep-alive POST for a few tens
of microseconds, so one process can stand in for a whole machine's nodes.
"""

from __future__ import annotations

import h11
import trio

__all__ = ["H11Connection", "HeartbeatRejected"]


class HeartbeatRejected(Exception):
    """The tracker answered a heartbeat with something other than 200."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class H11Connection:
    """One keep-alive connection to a tracker. Not safe for concurrent use: one task each.

    Args:
        host: tracker address.
        port: tracker port.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._stream: trio.SocketStream | None = None
        self._conn = h11.Connection(h11.CLIENT)
        self._host_header = f"{host}:{port}".encode()

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` (JSON) to ``path`` and return the status and response body.

        Reconnects once if the kept-alive connection was closed by the server.
        """
        for attempt in (1, 2):
            try:
                return await self._exchange(path, body)
            except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
                await self.aclose()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._stream is None:
            self._stream = await trio.open_tcp_stream(self._host, self._port)
            self._conn = h11.Connection(h11.CLIENT)
        conn = self._conn
        request = h11.Request(
            method="POST",
            target=path,
            headers=[
                (b"host", self._host_header),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        )
        await self._stream.send_all(
            conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        )
        status = 0
        chunks: list[bytes] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await self._stream.receive_some(65536)
                if not data:
                    raise trio.BrokenResourceError("tracker closed the connection")
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise trio.BrokenResourceError("tracker closed the connection")
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            await self.aclose()
        else:
            conn.start_next_cycle()
        return status, b"".join(chunks)

    async def aclose(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.aclose()

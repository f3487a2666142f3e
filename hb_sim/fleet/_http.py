"""A lean HTTP/1.1 heartbeat client on trio + httptools (llhttp), for live fleets (#12).

httpx costs about a millisecond of CPU per request and an h11 client a few tens of
microseconds; with the tracker now answering a heartbeat for about as little, the client had
become the limit of a 12,000-node fleet on one core. This one builds each request as one bytes
object and parses the answer with llhttp, the same parser the tracker's lean server uses.
"""

from __future__ import annotations

import httptools
import trio

__all__ = ["ANSWER_LIMIT", "ANSWER_TIMEOUT", "AnswerTooLong", "HeartbeatRejected", "HttpConnection"]

#: The most bytes one answer (status line, headers and body) may have. The tracker answers a
#: heartbeat with an empty body; more than this is not a tracker's answer. llhttp itself has no
#: bound on headers, so the count covers them too.
ANSWER_LIMIT = 64 * 1024
#: The longest one POST may take, reconnection included, like an agent's request timeout.
ANSWER_TIMEOUT = 10.0


class AnswerTooLong(httptools.HttpParserError):
    """An answer passed :data:`ANSWER_LIMIT`: the connection is closed, as on a parse error."""


class HeartbeatRejected(Exception):
    """The tracker answered a heartbeat with something other than 200."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class _Answer:
    """httptools callbacks: collects one response."""

    __slots__ = ("body", "complete", "keep_alive", "parser")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # valid only for the message just parsed: read it here, not after feed_data returns
        self.keep_alive = self.parser.should_keep_alive()


class HttpConnection:
    """One keep-alive connection to a tracker. Not safe for concurrent use: one task each.

    Args:
        host: tracker address.
        port: tracker port.
        timeout: seconds one :meth:`post` may take in all.
    """

    def __init__(self, host: str, port: int, timeout: float = ANSWER_TIMEOUT) -> None:
        self._host = host
        self._port = port
        self._stream: trio.SocketStream | None = None
        self._answer = _Answer()
        self._host_header = f"{host}:{port}".encode()
        self._timeout = timeout

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` (JSON) to ``path`` and return the status and response body.

        Reconnects once if the kept-alive connection was closed by the server.

        Raises:
            TimeoutError: no whole answer within the timeout (the connection is closed).
            AnswerTooLong: the answer passed :data:`ANSWER_LIMIT`.
        """
        with trio.move_on_after(self._timeout):
            return await self._post(path, body)
        await self.aclose()
        raise TimeoutError(f"no answer within {self._timeout:g} s")

    async def _post(self, path: str, body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                return await self._exchange(path, body)
            except (trio.BrokenResourceError, trio.ClosedResourceError, httptools.HttpParserError):
                await self.aclose()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._stream is None:
            self._stream = await trio.open_tcp_stream(self._host, self._port)
            self._answer = _Answer()
        stream = self._stream
        answer = self._answer
        await stream.send_all(
            b"POST %b HTTP/1.1\r\nhost: %b\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%b" % (path.encode(), self._host_header, len(body), body)
        )
        answer.complete = False
        answer.body = []
        size = 0
        while not answer.complete:
            data = await stream.receive_some(65536)
            if not data:
                raise trio.BrokenResourceError("tracker closed the connection")
            size += len(data)
            if size > ANSWER_LIMIT:
                raise AnswerTooLong(f"an answer of more than {ANSWER_LIMIT} bytes")
            answer.parser.feed_data(data)
        status = answer.parser.get_status_code()
        if not answer.keep_alive:
            await self.aclose()
        return status, b"".join(answer.body)

    async def aclose(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.aclose()

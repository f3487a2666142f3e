"""A lean HTTP/1.1 heartbeat client on trio + httptools (llhttp), for live fleets.

httpx costs about a millisecond of CPU per request and an h11 client a few tens of
microseconds; with the tracker now answering a heartbeat for about as little, the client had
become the limit of a 12,000-node fleet on one core. This one builds each request as one bytes
object and parses the answer with llhttp, the same parser the tracker's lean server uses.
"""

from __future__ import annotations

import httptools
import trio

__all__ = [
    "ANSWER_LIMIT",
    "ANSWER_TIMEOUT",
    "AnswerTooLong",
    "Deadlines",
    "HeartbeatRejected",
    "HttpConnection",
]

#: The most bytes one answer (status line, headers and body) may have. The tracker answers a
#: heartbeat with an empty body; more than this is not a tracker's answer. llhttp itself has no
#: bound on headers, so the count covers them too.
ANSWER_LIMIT = 64 * 1024
#: The longest one POST may take, reconnection included, like an agent's request timeout.
ANSWER_TIMEOUT = 10.0


class AnswerTooLong(httptools.HttpParserError):
    """An answer passed :data:`ANSWER_LIMIT`: the connection is closed, as on a parse error."""


class Deadlines:
    """One watchdog for a whole fleet's connections: it closes those stuck in a POST too long.

    A cancel scope around every POST would bound it too, but costs about as much CPU as a
    fifth of the POST itself (measured on trio 0.3x: 10 to 30 µs), and the fleet's client is
    what limits a 12,000-node fleet on one core. Instead each connection notes when its POST
    began, and this task looks every ``period`` seconds: a POST is cut off between
    ``timeout`` and that plus ``period`` after it began.

    Args:
        timeout: seconds one POST may take, reconnection included.
        period: seconds between two looks.
    """

    def __init__(self, timeout: float = ANSWER_TIMEOUT, period: float = 1.0) -> None:
        self.timeout = timeout
        self.period = period
        self.busy: dict[int, HttpConnection] = {}

    async def run(self) -> None:
        """Check the connections every ``period`` seconds, until cancelled."""
        while True:
            await trio.sleep(self.period)
            now = trio.current_time()
            for conn in list(self.busy.values()):
                if conn.busy_since is not None and now - conn.busy_since > self.timeout:
                    await conn.expire()


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
        deadlines: the watchdog that cuts a POST off after its timeout; None for none
            (connecting is bounded by :data:`ANSWER_TIMEOUT` all the same).
    """

    def __init__(self, host: str, port: int, deadlines: Deadlines | None = None) -> None:
        self._host = host
        self._port = port
        self._stream: trio.SocketStream | None = None
        self._answer = _Answer()
        self._host_header = f"{host}:{port}".encode()
        self._deadlines = deadlines
        self.busy_since: float | None = None
        self._expired = False

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` (JSON) to ``path`` and return the status and response body.

        Reconnects once if the kept-alive connection was closed by the server.

        Raises:
            TimeoutError: no whole answer within the timeout (the connection is closed).
            AnswerTooLong: the answer passed :data:`ANSWER_LIMIT`.
        """
        deadlines = self._deadlines
        if deadlines is not None:
            self.busy_since = trio.current_time()
            self._expired = False
            deadlines.busy[id(self)] = self
        try:
            for attempt in (1, 2):
                try:
                    return await self._exchange(path, body)
                except (
                    trio.BrokenResourceError,
                    trio.ClosedResourceError,
                    httptools.HttpParserError,
                ):
                    await self.aclose()
                    if self._expired and deadlines is not None:
                        raise TimeoutError(f"no answer within {deadlines.timeout:g} s") from None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            if deadlines is not None:
                self.busy_since = None
                deadlines.busy.pop(id(self), None)

    async def expire(self) -> None:
        """Cut the POST in progress off: its read fails at once and it raises TimeoutError."""
        self._expired = True
        await self.aclose()

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._stream is None:
            # Rare (once per connection), so a cancel scope costs nothing here; a POST on an
            # open connection is bounded by the watchdog instead (``Deadlines``).
            with trio.move_on_after(ANSWER_TIMEOUT):
                self._stream = await trio.open_tcp_stream(self._host, self._port)
            if self._stream is None:
                raise TimeoutError(f"cannot connect within {ANSWER_TIMEOUT:g} s")
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

"""Bytes in, request events out: httptools (llhttp) behind a pull interface, with limits (#12).

Sans-IO, like h11: :meth:`RequestReader.feed` takes whatever arrived on a connection and turns
it into events in :attr:`RequestReader.events`, in order: a :class:`RequestHead`, zero or more
``bytes`` of body (de-chunked), :data:`END` at the end of each message. Several pipelined
requests may arrive in one read; their events simply queue up. Anything that must end the
connection is a :class:`Failure` event, queued after the events of the requests before it, so
those are still answered first.

The connection feeds more only when the queue is empty, so at most one read's worth of
requests is ever held in memory, however much a client pipelines.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Final

import httptools

__all__ = ["END", "Failure", "Phase", "ReaderEvent", "RequestHead", "RequestReader"]


class _End:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END"


#: The end of one request's body.
END: Final = _End()


class Phase(enum.Enum):
    """Where the parser is within the request it reads."""

    IDLE = "between requests"
    HEAD = "reading a request head"
    BODY = "reading a request body"


@dataclass(frozen=True, slots=True)
class Failure:
    """The connection cannot go on; answer ``status`` (None: nothing) and close.

    Attributes:
        status: 400 (malformed), 413 (body too large) or 431 (head too large); None when there is
            no one to answer (the connection switched protocols).
        detail: the problem's detail text.
    """

    status: int | None
    detail: str = ""


class RequestHead:
    """A request line and its headers.

    Attributes:
        method: as sent, e.g. ``b"POST"``.
        target: the request target, e.g. ``b"/hmi/v1/hbstates?x=1"``.
        headers: ``(name, value)`` pairs as sent, in order.
        http_version: ``"1.1"`` or ``"1.0"``.
        keep_alive: the connection may stay open after the answer (HTTP/1.1 without
            ``Connection: close``, or HTTP/1.0 with ``Connection: keep-alive``).
        content_length: the declared body length, None when absent (chunked or no body).
        expect_continue: the client waits for ``100 Continue`` before sending the body.
        continue_sent: ``100 Continue`` went out (set by the connection).
    """

    __slots__ = (
        "content_length",
        "continue_sent",
        "expect_continue",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "target",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        http_version: str,
        keep_alive: bool,
        content_length: int | None,
        expect_continue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.content_length = content_length
        self.expect_continue = expect_continue
        self.continue_sent = False

    def __repr__(self) -> str:
        return f"RequestHead({self.method!r}, {self.target!r}, HTTP/{self.http_version})"


ReaderEvent = RequestHead | bytes | _End | Failure


class _LimitExceeded(Exception):
    """Raised inside a parser callback; llhttp hands it back as HttpParserCallbackError."""


class RequestReader:
    """Parses the requests of one connection.

    Args:
        max_header_bytes: most bytes of request line plus headers (431 beyond).
        max_body_bytes: most body bytes of a chunked request (413 beyond); a declared
            ``Content-Length`` is the connection's to check, since the limit may depend on
            the route.
    """

    def __init__(self, *, max_header_bytes: int, max_body_bytes: int) -> None:
        self.events: deque[ReaderEvent] = deque()
        #: Where the parser is: the connection picks its timeout from this.
        self.phase = Phase.IDLE
        #: Requests whose head began, so far: a new number is a new head or body deadline.
        self.started = 0
        #: The target of the request being read, for a problem's ``instance``.
        self.target = b""
        self._max_header_bytes = max_header_bytes
        self._max_body_bytes = max_body_bytes
        self._parser = httptools.HttpRequestParser(self)
        self._failed = False
        self._limit_failure: Failure | None = None
        self._head_bytes = 0
        self._body_bytes = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._content_length: int | None = None
        self._expect_continue = False

    @property
    def failed(self) -> bool:
        """A failure was queued: feed no more."""
        return self._failed

    def feed(self, data: bytes | bytearray) -> None:
        """Parse ``data``; queue the events it completes."""
        if self._failed:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            self._fail(self._limit_failure or Failure(400, "Malformed HTTP request"))
        except httptools.HttpParserUpgrade:
            # Requests before the switch were queued; the bytes after it are not HTTP/1.1.
            self._fail(Failure(None))
        except httptools.HttpParserError as error:
            self._fail(Failure(400, f"Malformed HTTP request: {_reason(error)}"))

    def _fail(self, failure: Failure) -> None:
        self._failed = True
        self.events.append(failure)

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.phase = Phase.HEAD
        self.started += 1
        self.target = b""
        self._head_bytes = 0
        self._body_bytes = 0
        self._headers = []
        self._content_length = None
        self._expect_continue = False

    def on_url(self, url: bytes) -> None:
        self.target += url
        self._head_bytes += len(url)
        if self._head_bytes > self._max_header_bytes:
            self._head_too_large()

    def on_header(self, name: bytes, value: bytes) -> None:
        # Called for every header of every request: the size check is written out, not a call.
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self._max_header_bytes:
            self._head_too_large()
        self._headers.append((name, value))
        # Names are lower-cased only when the request goes to ASGI (``http_scope``): the
        # heartbeats never need it. The length test spares a lower() for most headers.
        size = len(name)
        if size == 14 and name.lower() == b"content-length":
            # llhttp refuses a malformed or conflicting Content-Length itself; int() is the
            # belt to its braces.
            try:
                self._content_length = int(value)
            except ValueError:
                self._limit_failure = Failure(400, "Malformed HTTP request: bad Content-Length")
                raise _LimitExceeded from None
        elif size == 6 and name.lower() == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        parser = self._parser
        self.phase = Phase.BODY
        self.events.append(
            RequestHead(
                parser.get_method(),
                self.target,
                self._headers,
                parser.get_http_version(),
                parser.should_keep_alive(),
                self._content_length,
                self._expect_continue,
            )
        )

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self._max_body_bytes:
            self._limit_failure = Failure(
                413, f"Request body is larger than {self._max_body_bytes} bytes"
            )
            raise _LimitExceeded
        self.events.append(body)

    def on_message_complete(self) -> None:
        self.phase = Phase.IDLE
        self.events.append(END)

    def _head_too_large(self) -> None:
        self._limit_failure = Failure(
            431, f"Request line and headers are larger than {self._max_header_bytes} bytes"
        )
        raise _LimitExceeded


def _reason(error: Exception) -> str:
    # llhttp's messages are fixed texts ("Invalid method encountered"); never client bytes.
    text = str(error.args[0]) if error.args else type(error).__name__
    return text[:200]

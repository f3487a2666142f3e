"""Bytes in, request events out: httptools (llhttp) behind a pull interface, with limits.

Sans-IO, like h11: :meth:`RequestReader.feed` takes whatever arrived on a connection and turns
it into events in :attr:`RequestReader.events`, in order: a :class:`RequestHead`, zero or more
``bytes`` of body (de-chunked), :data:`END` at the end of each message. Several pipelined
requests may arrive in one read; their events simply queue up. Anything that must end the
connection is a :class:`Failure` event, queued after the events of the requests before it, so
those are still answered first.

Parse-ahead is bounded. What a read brought is parsed a slice at a time (:meth:`feed` parses
the first, :meth:`parse_more` the next), and the connection asks for the next slice only when
the queue is empty: whatever a client pipelines, the queue holds at most what
:data:`HEAD_SLICE` bytes of request heads can make (plus the body being read), and the rest of
the read waits as bytes. Each slice is also a bounded piece of work, so a connection can give
the others their turn between slices; a chunked body may have at most :data:`MAX_CHUNKS`
chunks, so a body of 1-byte chunks costs its sender a 400 rather than the server its time.

HTTP/1.1 rules of RFC 9112 the parser leaves to its caller: a request must have exactly one
valid ``Host`` (HTTP/1.0: at most one), only HTTP/1.0 and 1.1 are served (505 otherwise), and an
``Upgrade`` is ignored (RFC 9110 §7.8: hbtd never switches protocols), so the request is
served as any other, body included, and what follows it is parsed as HTTP/1.1 still.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

import httptools

__all__ = [
    "END",
    "HEAD_SLICE",
    "MAX_CHUNKS",
    "PHASE_BODY",
    "PHASE_HEAD",
    "PHASE_IDLE",
    "Failure",
    "Phase",
    "ReaderEvent",
    "RequestHead",
    "RequestReader",
    "Target",
    "split_target",
]

#: Bytes parsed at a time outside a body (a heartbeat's head and body fit in one slice).
HEAD_SLICE: Final = 2048
#: Bytes parsed at a time inside a chunked body (a body with a length is parsed whole, with a
#: head slice beyond it).
CHUNKED_SLICE: Final = 8192
#: Most chunks one request body may have; beyond it 400 (4 MiB in chunks of 256 bytes).
MAX_CHUNKS: Final = 16384
# What RFC 9110 allows in a Host value (reg-name, IP literal, port), as Go's net/http checks it.
_HOST_BYTES: Final = (
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$&'()*+,-.:;=[]_~%"
)


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


# The members under module names for the per-request path (here and in the connection):
# looking a member up on its Enum class costs about 150 ns on CPython 3.11, and the reader
# moves through three phases a request.
PHASE_IDLE: Final = Phase.IDLE
PHASE_HEAD: Final = Phase.HEAD
PHASE_BODY: Final = Phase.BODY


@dataclass(frozen=True, slots=True)
class Failure:
    """The connection cannot go on; answer ``status`` (None: nothing) and close.

    Attributes:
        status: 400 (malformed), 413 (body too large), 431 (head too large) or 505 (not
            HTTP/1.x); None when there is no one to answer.
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


#: A request target split: the percent-decoded path, the raw path, the query string.
Target = tuple[str, bytes, bytes]


def split_target(target: bytes) -> Target:
    """The percent-decoded path, the raw path and the query string of a request target."""
    raw_path, _, query = target.partition(b"?")
    if not raw_path.startswith(b"/") and raw_path != b"*":
        # absolute-form ("http://host/path"): keep the path only
        scheme_end = raw_path.find(b"://")
        slash = raw_path.find(b"/", scheme_end + 3) if scheme_end >= 0 else -1
        raw_path = raw_path[slash:] if slash >= 0 else b"/"
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = unquote(path)
    return path, raw_path, query


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
        self.phase = PHASE_IDLE
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
        #: Host headers of the request being read, and the last of them.
        self._hosts = 0
        self._host = b""
        #: The last Host value found valid: a connection's requests all carry the same.
        self._valid_host: bytes | None = None
        self._chunks = 0
        #: Received bytes not parsed yet (from an offset on): :meth:`parse_more` parses the next
        #: slice. A plain attribute, not a property: the connection reads it per request.
        self.backlog: bytes | bytearray | None = None
        self._backlog_at = 0
        #: Body bytes of an Upgrade request still to come (parsed here, not by llhttp).
        self._upgrade_body_left = 0

    def feed(self, data: bytes | bytearray) -> None:
        """Take what arrived and parse its first slice; queue the events it completes.

        Feed only when :attr:`backlog` is None.
        """
        if len(data) > HEAD_SLICE and len(data) > self._slice():
            self.backlog, self._backlog_at = data, 0
            self.parse_more()
            return
        self._parse(data)  # the usual case: one request or less per read

    def parse_more(self) -> None:
        """Parse the next slice of what arrived (when :attr:`backlog`)."""
        data, start = self.backlog, self._backlog_at
        if data is None:
            return
        end = start + self._slice()
        if end >= len(data):
            self.backlog = None
            self._parse(data[start:] if start else data)
        else:
            self._backlog_at = end
            self._parse(data[start:end])

    def _slice(self) -> int:
        if self.phase is PHASE_BODY:
            if self._content_length is not None:
                return self._content_length - self._body_bytes + HEAD_SLICE
            return CHUNKED_SLICE
        return HEAD_SLICE

    def _parse(self, data: bytes | bytearray) -> None:
        if self._failed:
            return
        try:
            if self._upgrade_body_left:
                data = self._upgrade_body(data)
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade, _LimitExceeded) as error:
            self._parse_failed(data, error)

    def _parse_failed(self, data: bytes | bytearray, error: Exception) -> None:
        if isinstance(error, (httptools.HttpParserCallbackError, _LimitExceeded)):
            self._fail(self._limit_failure or Failure(400, "Malformed HTTP request"))
        elif isinstance(error, httptools.HttpParserUpgrade):
            self._ignore_upgrade(data, int(error.args[0]) if error.args else len(data))
        else:
            self._fail(Failure(400, f"Malformed HTTP request: {_reason(error)}"))

    def _ignore_upgrade(self, data: bytes | bytearray, offset: int) -> None:
        # llhttp stops at the end of an Upgrade (or CONNECT) request's head, having completed
        # it without its body. Serve it as an ordinary request: its body (by Content-Length) is
        # taken here, and a new parser reads what follows.
        self._parser = httptools.HttpRequestParser(self)
        rest = data[offset:]
        if any(n.lower() == b"transfer-encoding" for n, _ in self._headers):
            self.events.pop()  # its END: the body it announced is not served
            self._fail(Failure(400, "Malformed HTTP request: Upgrade with a chunked body"))
            return
        if self._content_length:
            self.events.pop()  # its END: the body comes first
            self.phase = PHASE_BODY
            self._upgrade_body_left = self._content_length
        if rest:
            self._parse(rest)

    def _upgrade_body(self, data: bytes | bytearray) -> bytes | bytearray:
        taken = data[: self._upgrade_body_left]
        self._upgrade_body_left -= len(taken)
        if taken:
            self.on_body(bytes(taken))
        if not self._upgrade_body_left:
            self.on_message_complete()
        return data[len(taken) :]

    def _fail(self, failure: Failure) -> None:
        self._failed = True
        self.backlog = None
        self.events.append(failure)

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.phase = PHASE_HEAD
        self.started += 1
        self.target = b""
        self._head_bytes = 0
        self._body_bytes = 0
        self._headers = []
        self._content_length = None
        self._expect_continue = False
        self._hosts = 0
        self._chunks = 0

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
        elif size == 4 and (name == b"host" or name.lower() == b"host"):
            self._hosts += 1
            self._host = value
        elif size == 6 and name.lower() == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        parser = self._parser
        version = parser.get_http_version()
        # RFC 9112 §3.2: exactly one valid Host on HTTP/1.1; never two on any version.
        if version != "1.1" or self._hosts != 1 or self._host != self._valid_host:
            self._check_version_and_host(version)
        self.phase = PHASE_BODY
        self.events.append(
            RequestHead(
                parser.get_method(),
                self.target,
                self._headers,
                version,
                parser.should_keep_alive(),
                self._content_length,
                self._expect_continue,
            )
        )

    def _check_version_and_host(self, version: str) -> None:
        failure = None
        if version not in ("1.1", "1.0"):
            failure = Failure(505, f"HTTP/{version} is not supported: this server speaks HTTP/1.1")
        elif self._hosts > 1:
            failure = Failure(400, "Malformed HTTP request: more than one Host header")
        elif not self._hosts:
            if version == "1.1":
                failure = Failure(400, "Malformed HTTP request: missing Host header")
        elif self._host.translate(None, _HOST_BYTES):
            failure = Failure(400, "Malformed HTTP request: invalid Host header")
        else:
            self._valid_host = self._host
        if failure is not None:
            self._limit_failure = failure
            raise _LimitExceeded

    def on_chunk_header(self) -> None:
        self._chunks += 1
        if self._chunks > MAX_CHUNKS:
            self._limit_failure = Failure(
                400, f"Malformed HTTP request: a body of more than {MAX_CHUNKS} chunks"
            )
            raise _LimitExceeded

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self._max_body_bytes:
            self._limit_failure = Failure(
                413, f"Request body is larger than {self._max_body_bytes} bytes"
            )
            raise _LimitExceeded
        self.events.append(body)

    def on_message_complete(self) -> None:
        self.phase = PHASE_IDLE
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

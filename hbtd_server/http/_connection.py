"""One HTTP/1.1 connection: one task reads requests and answers them in order.

Theory of operation. The task alternates between reading and answering. Reading feeds what
arrives to a :class:`RequestReader` (llhttp) and pulls its events; answering a heartbeat is
done right here (:class:`InlineRoutes`), anything else goes to the ASGI app in process
(:class:`AsgiExchange`), which pulls its body through the same reader. Pipelined requests
simply wait in the reader's queue until their turn, so answers go out in order.

What the connection is doing is one explicit :class:`State` (h11's states are the model), the
reader's :class:`Phase` says where the parser is. Between requests the connection is ``IDLE``
(or ``HEAD`` once some of the next head arrived); a request in hand is ``ANSWERING``,
``BODY`` while its answer waits for body bytes, ``RESPONDING`` once the answer began to go out;
``CLOSING`` is a last answer (408, 400, 500...) before the close, ``CLOSED`` the end. Every byte
to the client goes out through one write path (:meth:`Connection._write`).

One cancel scope wraps the whole task; its deadline (:class:`Deadline`) moves with what the
task waits for, and says which (:class:`Wait`): the head timeout for the first request (and
the TLS handshake), the keep-alive timeout between requests, the head timeout from the first
wait for a head's bytes, the body timeout from the first wait for a body's, and the send
timeout while an answer is computed and written. Moving one deadline costs far less than a
cancel scope per read. When it fires, a client that was sending a request (``HEAD``,
``BODY``) gets 408, and the connection closes. A client that stops taking its answer is the
socket transport's to bound: a send that must wait gives up after the send timeout
(``SocketTransport``), and the transport tells since when a send waits, for eviction.

A request the reader refuses (malformed: 400, CL with TE included; head too large: 431; body
too large: 413; not HTTP/1.x: 505) gets a problem document and the connection closes, after a
short linger that lets the client read the answer before its unread bytes would reset the
connection.

The reader parses a read a slice at a time (``RequestReader.parse_more``); between two slices
of the same read the task yields, so a client whose bytes cost much parsing (a body of tiny
chunks, a flood of pipelined heads) gets one slice's worth of the event loop per turn, not one
read's. A peer that resets the connection or breaks the pipe, at any point, ends it quietly:
the app sees ``http.disconnect``, the log a debug line at most.
"""

from __future__ import annotations

import enum
import logging
from typing import Final

import trio

from ._asgi import ASGIApp, AsgiExchange, http_scope
from ._heartbeat import InlineRoutes
from ._limits import Limits
from ._reader import (
    END,
    PHASE_HEAD,
    PHASE_IDLE,
    Failure,
    RequestHead,
    RequestReader,
    Target,
    split_target,
)
from ._responses import CONTINUE, DateCache, problem_response, response_head
from ._transport import SocketTransport

__all__ = ["Connection", "Deadline", "Site", "State", "Wait"]

log = logging.getLogger("hbtd.http")

_RECEIVE_SIZE: Final = 65536
#: After refusing a request, how long and how much of the rest is read and dropped.
_LINGER_SECONDS: Final = 1.0
_LINGER_BYTES: Final = 16 * 1024 * 1024
#: How long a last answer (408, 400, ...) may take to go out before the close.
_LAST_WORDS_SECONDS: Final = 1.0
_PROBLEM_TYPE: Final = b"application/problem+json"
#: How far the idle deadline may lag behind, and how close a deadline may be before an inline
#: answer moves it (seconds).
_DEADLINE_SLACK: Final = 1.0
_OK_HEADERS: Final[list[tuple[bytes, bytes]]] = [(b"content-length", b"0")]


class State(enum.Enum):
    """What a connection is doing: exactly one at a time.

    ``IDLE`` -> ``HEAD`` -> ``ANSWERING`` (<-> ``BODY``) -> ``RESPONDING`` -> ``IDLE`` for each
    request kept alive; any state may end in ``CLOSING`` (a last answer) and ``CLOSED``.
    """

    IDLE = "waiting for a request"
    HEAD = "reading a request head"
    ANSWERING = "answering a request"
    BODY = "waiting for a request body"
    RESPONDING = "sending an answer"
    CLOSING = "sending a last answer"
    CLOSED = "closed"


#: States in which a timeout means the client did not send its request in time (408).
_SENDING_A_REQUEST: Final = frozenset({State.HEAD, State.BODY})
#: States in which nothing more may go out but what is going out.
_ANSWER_BEGUN: Final = frozenset({State.RESPONDING, State.CLOSING, State.CLOSED})


class Wait(enum.Enum):
    """What a connection's deadline stands for; each has its timeout in ``Limits``."""

    FIRST_REQUEST = "the first request (head_timeout; the TLS handshake too)"
    NEXT_REQUEST = "the next request (keep_alive_timeout)"
    HEAD = "the rest of a request head (head_timeout)"
    BODY = "the rest of a request body (body_timeout)"
    ANSWER = "an answer (send_timeout)"


# An Enum member looked up on its class costs a descriptor call (about 150 ns on CPython 3.11),
# a module global a dictionary lookup (about 15 ns): the per-request path uses these names.
_IDLE: Final = State.IDLE
_HEAD: Final = State.HEAD
_ANSWERING: Final = State.ANSWERING
_BODY: Final = State.BODY
_RESPONDING: Final = State.RESPONDING
_NEXT_REQUEST: Final = Wait.NEXT_REQUEST


class Deadline:
    """The one cancel scope around a connection's task, and what its deadline stands for.

    A head's or a body's timeout counts from the first wait for its bytes: :meth:`start` sets
    the deadline once per head and once per body, not on every read.

    Args:
        limits: the timeouts.

    Attributes:
        scope: the cancel scope; its deadline is the connection's.
        wait: what the deadline stands for.
        since: when the head or body wait began (trio time; for :attr:`Wait.HEAD` and
            :attr:`Wait.BODY`).
    """

    __slots__ = ("_limits", "_request", "scope", "since", "wait")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self.scope = trio.CancelScope()
        self.wait = Wait.FIRST_REQUEST
        self.since = 0.0
        #: The request (the reader's count of heads begun) that HEAD or BODY was started for.
        self._request = 0

    def next_request(self, served: int) -> None:
        """Wait for a request: the head timeout before the first (``served``, the requests
        read so far, is 0), the keep-alive timeout after."""
        if served:
            self.wait = _NEXT_REQUEST
            timeout = self._limits.keep_alive_timeout
        else:
            timeout = self._limits.head_timeout
        deadline = trio.current_time() + timeout
        # Between back-to-back requests the idle deadline moves by a hair each time: move it
        # only when that is more than the slack (the timeout may end up to the slack early,
        # never late).
        if abs(deadline - self.scope.deadline) > _DEADLINE_SLACK:
            self.scope.deadline = deadline

    def start(self, wait: Wait, request: int) -> None:
        """Wait for the bytes of request ``request``'s head or body (:attr:`Wait.HEAD`,
        :attr:`Wait.BODY`); its timeout counts from the first such call."""
        if wait is self.wait and request == self._request:
            return
        self.wait = wait
        self._request = request
        now = trio.current_time()
        self.since = now
        timeout = self._limits.head_timeout if wait is Wait.HEAD else self._limits.body_timeout
        self.scope.deadline = now + timeout

    def answer(self) -> None:
        """An answer is being computed and sent: the send timeout, from now."""
        self.wait = Wait.ANSWER
        self.scope.deadline = trio.current_time() + self._limits.send_timeout

    def waited(self, wait: Wait, now: float, after: float) -> bool:
        """Whether the deadline stands for ``wait`` and that began more than ``after`` ago."""
        return self.wait is wait and now - self.since > after


class Site:
    """What a server serves: an ASGI app, and routes answered on the connection itself.

    Args:
        app: the ASGI app for every request the inline routes do not take.
        inline: the inline routes (the heartbeats); None answers everything through ``app``.
        limits: timeouts and sizes.
    """

    def __init__(self, app: ASGIApp, *, inline: InlineRoutes | None, limits: Limits) -> None:
        self.app = app
        self.inline = inline or InlineRoutes()
        self.limits = limits
        self.dates = DateCache()


class Connection:
    """Serves the requests of one client connection until it should close.

    Args:
        stream: the connection (a socket stream, or a TLS stream over one).
        site: what to serve.
        scheme: ``"http"`` or ``"https"`` for the ASGI scope.
        client: the peer's address, for the ASGI scope.
        server: the local address, for the ASGI scope.
        transport: the socket transport under ``stream`` (``stream`` itself when it is
            one), which tells since when a send waits for the client (see :meth:`stuck`).
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        site: Site,
        *,
        scheme: str = "http",
        client: tuple[str, int] | None = None,
        server: tuple[str, int] | None = None,
        transport: SocketTransport | None = None,
    ) -> None:
        self._stream = stream
        self._site = site
        self._limits = site.limits
        self._scheme = scheme
        self._client = client
        self._server = server
        if transport is None and isinstance(stream, SocketTransport):
            transport = stream
        self._transport = transport
        self._reader = RequestReader(
            max_header_bytes=site.limits.max_header_bytes,
            max_body_bytes=site.limits.max_body_bytes,
        )
        self._state = State.IDLE
        self._deadline = Deadline(site.limits)
        #: Close after the request in progress (shutdown, or evicted at the cap).
        self._closing = False
        #: The client sent its end of stream: nothing more to read.
        self._eof = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until the client leaves, a request ends the connection, or a timeout fires;
        then close the stream. Never raises for anything a client does."""
        scope = self._deadline.scope
        try:
            with scope:
                await self._serve()
            if scope.cancelled_caught:
                await self._on_timeout()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away (or TLS broke): nothing to answer
        finally:
            self._state = State.CLOSED
            await trio.aclose_forcefully(self._stream)

    @property
    def state(self) -> State:
        """What the connection is doing now."""
        return self._state

    def begin_shutdown(self) -> None:
        """Close now if idle; otherwise finish the request in progress, then close."""
        self._closing = True
        if self._state is State.IDLE and not self._reader.events:
            self._deadline.scope.cancel()

    @property
    def closing(self) -> bool:
        """It closes after the request in progress (shutdown, or evicted at the cap)."""
        return self._closing

    @property
    def idle(self) -> bool:
        """No request is being read or answered."""
        return self._state is State.IDLE

    def stuck(self, now: float, after: float) -> bool:
        """For more than ``after`` seconds, a request head or body has been arriving, or the
        client has not been taking its answer (it may be evicted at the connection cap)."""
        transport = self._transport
        if transport is not None and transport.send_blocked_since is not None:
            return now - transport.send_blocked_since > after
        state = self._state
        if state is State.HEAD:
            return self._deadline.waited(Wait.HEAD, now, after)
        return state is State.BODY and self._deadline.waited(Wait.BODY, now, after)

    def evict(self) -> None:
        """Close now: a slow head or body gets 408, as at its timeout; an idle connection, or
        one whose client does not read its answer, just closes."""
        self._closing = True
        self._deadline.scope.cancel()

    async def _serve(self) -> None:
        inline = self._site.inline
        reader = self._reader
        deadline = self._deadline
        while True:
            event = reader.events.popleft() if reader.events else await self._next_event()
            if event is None:
                return
            if isinstance(event, Failure):
                await self._refuse(event, None)
                return
            if not isinstance(event, RequestHead):  # pragma: no cover - the reader's contract
                raise AssertionError(f"expected a request head, got {event!r}")
            self._state = _ANSWERING
            target = split_target(event.target)
            is_inline, argument = inline.match(event.method, target[0])
            if is_inline:
                # An inline answer takes microseconds: the deadline already set covers it,
                # unless it is about to fire (moving it costs more than the answer).
                if deadline.scope.deadline < trio.current_time() + _DEADLINE_SLACK:
                    deadline.answer()
                keep = await self._answer_inline(event, argument)
            else:
                deadline.answer()
                keep = await self._answer_asgi(event, target)
            if not keep or self._closing:
                return
            self._state = _IDLE

    async def _on_timeout(self) -> None:
        state = self._state
        if state not in _SENDING_A_REQUEST:
            # idle, shutting down, or too slow to compute or take its answer: just close
            return
        instance = split_target(self._reader.target)[0] if self._reader.target else "/"
        what = "request head" if state is State.HEAD else "request body"
        await self._last_words(
            problem_response(
                408,
                f"The {what} did not arrive in time",
                instance,
                date=self._site.dates.line(),
            )
        )

    # -- reading -----------------------------------------------------------------------------

    async def _next_event(self) -> RequestHead | bytes | object | Failure | None:
        """The reader's next event, reading from the client as needed; None at its EOF."""
        reader = self._reader
        events = reader.events
        while not events:
            if reader.backlog is not None:
                if self._state is _IDLE and reader.phase is PHASE_HEAD:
                    self._state = _HEAD  # a head began in the slice parsed last
                # Parsing costs time: another slice of the same read waits for the next turn.
                await trio.lowlevel.checkpoint()
                reader.parse_more()
                continue
            if self._eof:
                return None
            # Before a read: the state and deadline of what it waits for.
            if reader.phase is PHASE_IDLE:
                self._state = _IDLE
                self._deadline.next_request(reader.started)
            else:
                self._wait_within_request()
            data = await self._stream.receive_some(_RECEIVE_SIZE)
            if self._state is _BODY:
                self._state = _ANSWERING
            if not data:
                self._eof = True
                return None
            reader.feed(data)
        return events.popleft()

    def _wait_within_request(self) -> None:
        # A read within a request: between requests only its head (a partial head), for a
        # request in hand only its body (the reader is inside the body).
        reader = self._reader
        if reader.phase is PHASE_HEAD:
            self._state = State.HEAD
            self._deadline.start(Wait.HEAD, reader.started)
        else:
            if self._state is State.ANSWERING:
                self._state = State.BODY
            self._deadline.start(Wait.BODY, reader.started)

    async def body_event(self, head: RequestHead) -> bytes | object | Failure | None:
        """The next body event of ``head`` (see :class:`AsgiExchange`)."""
        try:
            if head.expect_continue and not head.continue_sent and not self._reader.events:
                head.continue_sent = True
                await self._write(CONTINUE)  # interim: the answer has not begun
            event = await self._next_event()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            # A reset in the middle of a body: to the app (or the inline route) the client
            # has simply gone.
            self._state = State.CLOSED
            log.debug("client left in the middle of a request body: %s", error)
            return None
        if isinstance(event, RequestHead):  # pragma: no cover - the reader's contract
            raise AssertionError("a request head in the middle of a body")
        return event

    def ready_body(self) -> bytes | None:
        """Body bytes the reader has already queued (see :class:`AsgiExchange`)."""
        events = self._reader.events
        if events and isinstance(events[0], bytes):
            piece: bytes = events.popleft()  # type: ignore[assignment]
            return piece
        return None

    async def _rest_of_body(self, head: RequestHead, limit: int) -> bytes | Failure | None:
        """The remaining body of ``head``, or a failure (413 past ``limit``), or None."""
        events = self._reader.events
        pieces: list[bytes] = []
        size = 0
        while True:
            event = events.popleft() if events else await self.body_event(head)
            if event is END:
                return pieces[0] if len(pieces) == 1 else b"".join(pieces)
            if not isinstance(event, bytes):
                return event if isinstance(event, Failure) else None
            size += len(event)
            if size > limit:
                return Failure(413)
            pieces.append(event)

    # -- answering ---------------------------------------------------------------------------

    def date(self) -> bytes:
        """The current Date header line."""
        return self._site.dates.line()

    async def send_all(self, data: bytes) -> None:
        """Write (part of) the answer to the client."""
        self._state = State.RESPONDING
        await self._write(data)

    async def _last_words(self, data: bytes, *, linger: bool = False) -> None:
        """Send a last answer within a short bound; optionally drain what the client still
        sends, so that closing with unread bytes does not reset the connection before the
        client read the answer."""
        self._state = State.CLOSING
        with trio.move_on_after(_LAST_WORDS_SECONDS):
            await self._write(data)
        if not linger or self._eof:
            return
        if isinstance(self._stream, trio.abc.HalfCloseableStream):
            try:
                await self._stream.send_eof()
            except trio.BrokenResourceError:
                return
        drained = 0
        with trio.move_on_after(_LINGER_SECONDS):
            while drained < _LINGER_BYTES:
                dropped = await self._stream.receive_some(_RECEIVE_SIZE)
                if not dropped:
                    return
                drained += len(dropped)

    async def _write(self, data: bytes) -> None:
        """The one write path: every byte to the client goes out here."""
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._state = State.CLOSED
            raise

    async def _answer_inline(self, head: RequestHead, argument: str | None) -> bool:
        inline = self._site.inline
        body: bytes | None = None  # None: over the route's cap, and not read
        if head.content_length is None or head.content_length <= inline.max_body:
            rest = await self._rest_of_body(head, inline.max_body)
            if rest is None:
                return False
            if isinstance(rest, Failure):
                if rest.status != 413:
                    await self._refuse(rest, head)
                    return False
            else:
                body = rest
        too_large = body is None
        status, document = inline.answer(argument, body)
        keep = not too_large and head.keep_alive and not self._closing
        if status == 200 and keep and not document and head.http_version == "1.1":
            self._state = _RESPONDING
            await self._write(self._site.dates.ok_response())
            return True
        if document:
            headers = [
                (b"content-type", _PROBLEM_TYPE),
                (b"content-length", str(len(document)).encode()),
            ]
        else:
            headers = _OK_HEADERS
        response = (
            response_head(
                status,
                headers,
                date=self._site.dates.line(),
                keep_alive=keep,
                http_10=head.http_version == "1.0",
            )
            + document
        )
        if too_large:
            await self._last_words(response, linger=True)
        else:
            await self.send_all(response)
        return keep

    async def _answer_asgi(self, head: RequestHead, target: Target) -> bool:
        limits = self._limits
        if head.content_length is not None and head.content_length > limits.max_body_bytes:
            detail = f"Request body is larger than {limits.max_body_bytes} bytes"
            await self._refuse(Failure(413, detail), head)
            return False
        exchange = AsgiExchange(self, head, keep_alive=head.keep_alive and not self._closing)
        scope = http_scope(
            head, target, scheme=self._scheme, client=self._client, server=self._server
        )
        path = target[0]
        try:
            await self._site.app(scope, exchange.receive, exchange.send)
        except Exception:
            if self._state is State.CLOSED or exchange.disconnected:
                log.debug("the app stopped on %s %s: the client left", scope["method"], path)
            else:
                log.exception("the app failed on %s %s", scope["method"], path)
        if exchange.failure is not None and not exchange.started:
            await self._refuse(exchange.failure, head)
            return False
        if not exchange.complete:
            if not exchange.started and not exchange.disconnected:
                await self._last_words(
                    problem_response(
                        500, "Unexpected error; see the tracker's log", path, date=self.date()
                    )
                )
            return False
        if not exchange.keep_alive:
            return False
        if not exchange.body_done and not exchange.disconnected:
            if head.expect_continue and not head.continue_sent:
                return False  # the client holds its body back: do not wait for it
            # Drop the body the app did not read, so the next request can be parsed.
            rest = await self._rest_of_body(head, limits.max_body_bytes)
            return isinstance(rest, bytes)
        return not exchange.disconnected

    async def _refuse(self, failure: Failure, head: RequestHead | None) -> None:
        """Answer a request the server will not serve, then close (after a linger)."""
        if failure.status is None or self._state in _ANSWER_BEGUN:
            return
        target = head.target if head is not None else self._reader.target
        instance = split_target(target)[0] if target else "/"
        await self._last_words(
            problem_response(failure.status, failure.detail, instance, date=self.date()),
            linger=True,
        )

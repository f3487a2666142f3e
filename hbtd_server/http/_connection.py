"""One HTTP/1.1 connection: one task reads requests and answers them in order (#12).

Theory of operation. The task alternates between reading and answering. Reading feeds what
arrives to a :class:`RequestReader` (llhttp) and pulls its events; answering a heartbeat is
done right here (:class:`InlineRoutes`), anything else goes to the ASGI app in process
(:class:`AsgiExchange`), which pulls its body through the same reader. Pipelined requests
simply wait in the reader's queue until their turn, so answers go out in order.

One cancel scope, the *timer*, wraps the whole task; its deadline moves with what the task
waits for: the keep-alive timeout between requests, the head timeout from the first byte of a
head (and for the TLS handshake and first request), the body timeout from the end of the head,
and the send timeout while an answer is computed and written. Moving one deadline costs far
less than a cancel scope per read. When it fires, a client that was sending a request gets
408 (unless its answer had begun), and the connection closes.

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

import logging
from typing import Final

import trio

from ._asgi import ASGIApp, AsgiExchange, http_scope
from ._heartbeat import InlineRoutes
from ._limits import Limits
from ._reader import END, Failure, Phase, RequestHead, RequestReader, Target, split_target
from ._responses import CONTINUE, DateCache, problem_response, response_head

__all__ = ["Connection", "Site"]

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
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        site: Site,
        *,
        scheme: str = "http",
        client: tuple[str, int] | None = None,
        server: tuple[str, int] | None = None,
    ) -> None:
        self._stream = stream
        self._site = site
        self._limits = site.limits
        self._scheme = scheme
        self._client = client
        self._server = server
        self._reader = RequestReader(
            max_header_bytes=site.limits.max_header_bytes,
            max_body_bytes=site.limits.max_body_bytes,
        )
        self._timer = trio.CancelScope()
        self._eof = False
        self._broken = False
        self._reading = False
        self._answering = False
        self._response_started = False
        self._closing = False
        self._armed_for = 0
        self._requests = 0
        #: When the head being read began to arrive (trio time; meaningful in Phase.HEAD).
        self._head_began = 0.0
        #: When the body being read began (trio time; meaningful in Phase.BODY).
        self._body_began = 0.0
        #: When a send of the answer in progress first found the client not reading.
        self._send_blocked_since: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until the client leaves, a request ends the connection, or a timeout fires;
        then close the stream. Never raises for anything a client does."""
        try:
            with self._timer:
                await self._serve()
            if self._timer.cancelled_caught:
                await self._on_timeout()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away (or TLS broke): nothing to answer
        finally:
            await trio.aclose_forcefully(self._stream)

    def begin_shutdown(self) -> None:
        """Close now if idle; otherwise finish the request in progress, then close."""
        self._closing = True
        reader = self._reader
        if not self._answering and reader.phase is Phase.IDLE and not reader.events:
            self._timer.cancel()

    @property
    def closing(self) -> bool:
        """It closes after the request in progress (shutdown, or evicted at the cap)."""
        return self._closing

    @property
    def idle(self) -> bool:
        """No request is being read or answered."""
        return not self._answering and self._reader.phase is Phase.IDLE

    def stuck(self, now: float, after: float) -> bool:
        """For more than ``after`` seconds, a request head or body has been arriving, or the
        client has not been taking its answer (it may be evicted at the connection cap)."""
        if self._send_blocked_since is not None:
            return now - self._send_blocked_since > after
        phase = self._reader.phase
        if phase is Phase.HEAD:
            return not self._answering and now - self._head_began > after
        return phase is Phase.BODY and self._reading and now - self._body_began > after

    def send_blocked(self) -> None:
        """The client stopped taking what is sent: from now the send timeout bounds the answer.

        Inline answers keep the deadline they found (moving it per request costs more than the
        answer), which may be the longer keep-alive timeout; the transport calls this when a
        send has to wait. The next wait for a request sets the keep-alive deadline again.
        (Under TLS a read may send too; if that send waits, the same bound applies to it.)
        """
        now = trio.current_time()
        if self._send_blocked_since is None:
            self._send_blocked_since = now
        deadline = now + self._limits.send_timeout
        if deadline < self._timer.deadline:
            self._timer.deadline = deadline

    def evict(self) -> None:
        """Close now: a slow head or body gets 408, as at its timeout; an idle connection, or
        one whose client does not read its answer, just closes."""
        self._closing = True
        self._timer.cancel()

    async def _serve(self) -> None:
        inline = self._site.inline
        reader = self._reader
        while True:
            event = reader.events.popleft() if reader.events else await self._next_event()
            if event is None:
                return
            if isinstance(event, Failure):
                await self._refuse(event, None)
                return
            if not isinstance(event, RequestHead):  # pragma: no cover - the reader's contract
                raise AssertionError(f"expected a request head, got {event!r}")
            self._answering = True
            self._requests += 1
            target = split_target(event.target)
            is_inline, argument = inline.match(event.method, target[0])
            if is_inline:
                # An inline answer takes microseconds: the deadline already set covers it,
                # unless it is about to fire (moving it costs more than the answer).
                now = trio.current_time()
                if self._timer.deadline < now + _DEADLINE_SLACK:
                    self._timer.deadline = now + self._limits.send_timeout
                keep = await self._answer_inline(event, argument)
            else:
                self._timer.deadline = trio.current_time() + self._limits.send_timeout
                keep = await self._answer_asgi(event, target)
            self._answering = False
            self._response_started = False
            self._send_blocked_since = None
            if not keep or self._closing:
                return

    async def _on_timeout(self) -> None:
        if not self._reading or self._response_started or self._reader.phase is Phase.IDLE:
            # idle, shutting down, or too slow to compute or take its answer: just close
            return
        instance = split_target(self._reader.target)[0] if self._reader.target else "/"
        what = "request head" if self._reader.phase is not Phase.BODY else "request body"
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
                # Parsing costs time: another slice of the same read waits for the next turn.
                await trio.lowlevel.checkpoint()
                reader.parse_more()
                continue
            if self._eof:
                return None
            self._arm_timer()
            self._reading = True
            data = await self._stream.receive_some(_RECEIVE_SIZE)
            self._reading = False
            if not data:
                self._eof = True
                return None
            reader.feed(data)
        return events.popleft()

    def _arm_timer(self) -> None:
        reader = self._reader
        limits = self._limits
        if reader.phase is Phase.IDLE:
            # A connection is opened to send a request: until the first one, the head
            # timeout applies (it also bounds the TLS handshake).
            timeout = limits.keep_alive_timeout if self._requests else limits.head_timeout
            deadline = trio.current_time() + timeout
            # Between back-to-back requests the idle deadline moves by a hair each time: move
            # it only when that is more than the slack (the timeout may end up to the slack
            # early, never late).
            if abs(deadline - self._timer.deadline) > _DEADLINE_SLACK:
                self._timer.deadline = deadline
            self._armed_for = 0
        elif reader.started * 2 + (reader.phase is Phase.BODY) != self._armed_for:
            # once per head and once per body: the timeouts count from their start
            self._armed_for = reader.started * 2 + (reader.phase is Phase.BODY)
            now = trio.current_time()
            if reader.phase is Phase.HEAD:
                self._head_began = now
                self._timer.deadline = now + limits.head_timeout
            else:
                self._body_began = now
                self._timer.deadline = now + limits.body_timeout

    async def body_event(self, head: RequestHead) -> bytes | object | Failure | None:
        """The next body event of ``head`` (see :class:`AsgiExchange`)."""
        try:
            if head.expect_continue and not head.continue_sent and not self._reader.events:
                head.continue_sent = True
                await self._stream.send_all(CONTINUE)
            event = await self._next_event()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            # A reset in the middle of a body: to the app (or the inline route) the client
            # has simply gone.
            self._broken = True
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
        """Write to the client (marks the response as begun)."""
        self._response_started = True
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._broken = True
            raise

    async def _answer_inline(self, head: RequestHead, argument: str | None) -> bool:
        inline = self._site.inline
        if head.content_length is not None and head.content_length > inline.max_body:
            await self._inline_too_large(argument)
            return False
        body = await self._rest_of_body(head, inline.max_body)
        if body is None:
            return False
        if isinstance(body, Failure):
            if body.status == 413:
                await self._inline_too_large(argument)
            else:
                await self._refuse(body, head)
            return False
        status, document = inline.answer(argument, body)
        keep = head.keep_alive and not self._closing
        if status == 200 and keep and not document and head.http_version == "1.1":
            await self.send_all(self._site.dates.ok_response())
            return True
        if document:
            headers = [
                (b"content-type", _PROBLEM_TYPE),
                (b"content-length", str(len(document)).encode()),
            ]
        else:
            headers = _OK_HEADERS
        await self.send_all(
            response_head(
                status,
                headers,
                date=self._site.dates.line(),
                keep_alive=keep,
                http_10=head.http_version == "1.0",
            )
            + document
        )
        return keep

    async def _inline_too_large(self, argument: str | None) -> None:
        status, document = self._site.inline.answer(argument, None)
        headers = [(b"content-type", _PROBLEM_TYPE), (b"content-length", b"%d" % len(document))]
        await self._last_words(
            response_head(status, headers, date=self.date(), keep_alive=False, http_10=False)
            + document,
            linger=True,
        )

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
            if self._broken or exchange.disconnected:
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
        if failure.status is None or self._response_started:
            return
        target = head.target if head is not None else self._reader.target
        instance = split_target(target)[0] if target else "/"
        await self._last_words(
            problem_response(failure.status, failure.detail, instance, date=self.date()),
            linger=True,
        )

    async def _last_words(self, data: bytes, *, linger: bool = False) -> None:
        """Send a last answer within a short bound; optionally drain what the client still
        sends, so that closing with unread bytes does not reset the connection before the
        client read the answer."""
        self._response_started = True
        with trio.move_on_after(_LAST_WORDS_SECONDS):
            await self._stream.send_all(data)
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

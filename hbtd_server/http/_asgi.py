"""The bridge to an ASGI app in process: HTTP scope, receive, send; lifespan.

Every request but the inline heartbeats goes to the Quart app this way. One
:class:`AsgiExchange` carries one request: ``receive`` hands the app the body as it arrives
(sending ``100 Continue`` first when the client asked for it), ``send`` turns the app's
messages into bytes on the connection. :class:`Lifespan` runs the app's startup and shutdown
hooks exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

from ._reader import END, Failure, RequestHead, Target
from ._responses import response_head

__all__ = [
    "ASGIApp",
    "AsgiExchange",
    "Lifespan",
    "LifespanFailed",
    "http_scope",
]

log = logging.getLogger("hbtd.http")

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

_ASGI = {"version": "3.0", "spec_version": "2.3"}
_NO_BODY_STATUSES = frozenset({204, 304})


def http_scope(
    head: RequestHead,
    target: Target,
    *,
    scheme: str,
    client: tuple[str, int] | None,
    server: tuple[str, int] | None,
) -> Message:
    """The ASGI HTTP scope of ``head``, whose target the connection has split already."""
    path, raw_path, query = target
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": head.http_version,
        "method": head.method.decode("ascii", "replace"),
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in head.headers],
        "client": client,
        "server": server,
    }


class Wire(Protocol):
    """What an exchange needs of its connection."""

    async def body_event(self, head: RequestHead) -> bytes | object | Failure | None:
        """The next body piece, ``END``, a failure, or None when the client is gone."""

    def ready_body(self) -> bytes | None:
        """Body bytes already parsed, without waiting (None when none are queued)."""

    async def send_all(self, data: bytes) -> None:
        """Write ``data`` to the client."""

    def date(self) -> bytes:
        """The current Date header line."""


class AsgiExchange:
    """One request to the ASGI app and its response.

    Args:
        wire: the connection.
        head: the request.
        keep_alive: whether the response may leave the connection open (the server's decision,
            made before the app runs; an app's ``Connection: close`` closes it too).
    """

    def __init__(self, wire: Wire, head: RequestHead, *, keep_alive: bool) -> None:
        self._wire = wire
        self._head = head
        self.keep_alive = keep_alive
        #: The whole request body was handed to the app.
        self.body_done = False
        #: The client went away, or its request broke (see ``failure``).
        self.disconnected = False
        #: Why the request broke, when the reader refused it mid-body.
        self.failure: Failure | None = None
        #: The response head went out.
        self.started = False
        #: The last body message went out.
        self.complete = False
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunked = False
        self._finished: trio.Event | None = None

    async def receive(self) -> Message:
        """ASGI ``receive``: the body, then ``http.disconnect`` once the response is done."""
        if self.body_done or self.disconnected:
            if not self.disconnected and not self.complete:
                # Quart keeps listening for a disconnect while it answers: wait for the answer.
                if self._finished is None:
                    self._finished = trio.Event()
                await self._finished.wait()
            return {"type": "http.disconnect"}
        event = await self._wire.body_event(self._head)
        if event is END:
            self.body_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if isinstance(event, bytes):
            pieces = [event]
            while (more := self._wire.ready_body()) is not None:
                pieces.append(more)
            return {"type": "http.request", "body": b"".join(pieces), "more_body": True}
        self.disconnected = True
        if isinstance(event, Failure):
            self.failure = event
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """ASGI ``send``: the response head is held back to go out with the first body.

        Once the client has gone (a reset, a broken pipe), what the app sends is dropped.
        """
        kind = message["type"]
        if kind == "http.response.start":
            if self.started or self._status:
                raise RuntimeError("http.response.start sent twice")
            self._status = int(message["status"])
            self._headers = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers", ())]
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if not self._status or self.complete:
            raise RuntimeError("http.response.body out of order")
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        data = b""
        if not self.started:
            data = self._head_bytes(body, more)
            self.started = True
        if self._head.method == b"HEAD" or self._status in _NO_BODY_STATUSES:
            body = b""
        if self._chunked:
            if body:
                data += b"%x\r\n%b\r\n" % (len(body), body)
            if not more:
                data += b"0\r\n\r\n"
        else:
            data += body
        if not more:
            self.complete = True
            if self._finished is not None:
                self._finished.set()
        if data and not self.disconnected:
            try:
                await self._wire.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.disconnected = True

    def _head_bytes(self, body: bytes, more: bool) -> bytes:
        headers = self._headers
        status = self._status
        for name, value in headers:
            if name == b"connection" and b"close" in value.lower():
                self.keep_alive = False  # the app hangs up after this answer (a refusal, ...)
        has_length = any(name == b"content-length" for name, _ in headers)
        if status in _NO_BODY_STATUSES or status < 200:
            headers = [h for h in headers if h[0] not in (b"content-length", b"transfer-encoding")]
        elif not has_length:
            if not more:
                headers = [*headers, (b"content-length", str(len(body)).encode())]
            elif self._head.http_version == "1.1":
                headers = [*headers, (b"transfer-encoding", b"chunked")]
                self._chunked = True
            else:
                self.keep_alive = False  # HTTP/1.0: the end of the body is the close
        return response_head(
            status,
            headers,
            date=self._wire.date(),
            keep_alive=self.keep_alive,
            http_10=self._head.http_version == "1.0",
        )


class LifespanFailed(Exception):
    """The app's startup (or shutdown) hook failed."""


class Lifespan:
    """Runs an ASGI app's lifespan: startup once before serving, shutdown once at the end.

    Apps without lifespan support (they raise on the scope) are served without it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app, self._app_inbox = trio.open_memory_channel[Message](2)
        self._from_app, self._outbox = trio.open_memory_channel[Message](2)
        self._supported = True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the app's lifespan task; ``nursery.start`` returns once startup completed.

        Raises:
            LifespanFailed: startup failed.
        """
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._app_task)
            await self._to_app.send({"type": "lifespan.startup"})
            reply = await self._outbox.receive()
            if reply["type"] == "lifespan.startup.failed":
                raise LifespanFailed(reply.get("message", "startup failed"))
            task_status.started()

    async def shutdown(self) -> None:
        """Ask the app to shut down and wait for it to say it did."""
        if not self._supported:
            return
        await self._to_app.send({"type": "lifespan.shutdown"})
        reply = await self._outbox.receive()
        if reply["type"] == "lifespan.shutdown.failed":
            log.error("the app's shutdown failed: %s", reply.get("message", ""))

    async def _app_task(self) -> None:
        scope = {"type": "lifespan", "asgi": _ASGI, "state": {}}
        try:
            await self._app(scope, self._app_inbox.receive, self._from_app.send)
        except Exception:
            self._supported = False
            log.debug("the app does not support lifespan", exc_info=True)
            await self._from_app.send({"type": "lifespan.startup.complete"})

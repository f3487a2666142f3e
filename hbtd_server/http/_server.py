"""The lean HTTP/1.1 server: accept loops, the connection cap, graceful shutdown.

``serve`` is shaped like hypercorn's: it takes a ``shutdown_trigger`` and reports the URLs it
listens on through ``task_status``. On the trigger it stops accepting, closes idle connections,
lets requests in progress finish within ``Limits.shutdown_timeout``, then runs the app's
lifespan shutdown and returns.

The process must never run out of file descriptors because of its clients: at
``Limits.max_connections`` a new connection makes room by closing the oldest connection that
is idle (between requests, or never having sent a byte) or stuck: its request head or body has
been arriving for more than :data:`_STUCK_SECONDS` (a real client sends a head in one packet,
and a body at network speed: that is a slow-head or slow-body attack, and it gets 408), or its
client has not taken its answer for that long (a client that never reads). So ``/liveness``
still gets in while clients hoard connections; when there is none such, the new connection is
closed at once.
If the limit is
reached anyway (EMFILE/ENFILE), accepting pauses briefly and the log gets one line when it
starts and one with the count when it ends, never a traceback per attempt.
"""

from __future__ import annotations

import errno
import logging
import math
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from ._asgi import ASGIApp, Lifespan
from ._connection import Connection, Site
from ._heartbeat import InlineRoutes
from ._limits import Limits
from ._listeners import listener_urls, make_ssl_context, open_listeners
from ._plain_on_tls import answer_plain_http
from ._transport import SocketTransport

__all__ = ["BurstLog", "LeanServer", "serve"]

log = logging.getLogger("hbtd.http")

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
#: Pause between accept attempts while out of file descriptors.
_ACCEPT_RETRY_SECONDS = 0.1
#: At the connection cap, a connection stuck this long (see ``Connection.stuck``) may be evicted.
_STUCK_SECONDS = 2.0
#: Evicted connections still closing, at most: each holds its file descriptor until then, so
#: this bounds how far past the cap a burst of new connections can take the process (the cap
#: leaves a reserve of at least 64 below the open-file limit).
_EVICTIONS_IN_FLIGHT = 16
#: After a walk found nothing to evict, new connections are closed at once this long without
#: walking again: a flood at the cap must not cost a walk over every connection each.
_NO_ROOM_SECONDS = 0.1


class BurstLog:
    """Logs a repeated condition once when it starts and once, with a count, when it ends.

    Args:
        logger: where to log.
        what: the condition, e.g. ``"connection cap 1000 reached"``.
        action: what happens each time, e.g. ``"closed new connections"``.
        clock: seconds, for the burst's duration.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        action: str,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._log = logger
        self._what = what
        self._action = action
        self._clock = clock
        self.count = 0
        self._since = 0.0
        self._detail = ""

    def hit(self, detail: str = "") -> None:
        """The condition happened (again)."""
        if self.count == 0:
            self._since = self._clock()
            self._detail = detail
            suffix = f" ({detail})" if detail else ""
            self._log.warning("%s%s: %s until it clears", self._what, suffix, self._action)
        self.count += 1

    def clear(self) -> None:
        """The condition is over: log how often it happened."""
        if self.count:
            self._log.warning(
                "%s: cleared after %.1f s; %s %d time(s)",
                self._what,
                self._clock() - self._since,
                self._action,
                self.count,
            )
            self.count = 0


class LeanServer:
    """Accepts connections for ``site`` and serves each in its own task.

    Args:
        site: what to serve.
        ssl_context: serve HTTPS with this; None for plain HTTP.
    """

    def __init__(self, site: Site, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.site = site
        self._ssl_context = ssl_context
        self._cap = site.limits.connection_cap()
        #: Open connections, oldest first (a dict as an ordered set).
        self._connections: dict[Connection, None] = {}
        self._evicted: set[Connection] = set()
        self._no_room_until = -math.inf
        self._changed = trio.Event()
        self._shutting_down = False
        self.at_cap = BurstLog(
            log,
            f"connection cap {self._cap} reached",
            "closing the oldest idle or stuck connection (or the new one, when none is)",
        )
        self.out_of_fds = BurstLog(
            log, "out of file descriptors", "pausing accept for 0.1 s each time"
        )

    async def serve(
        self,
        listeners: list[trio.SocketListener],
        *,
        shutdown_trigger: Callable[[], Awaitable[None]],
        task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve on ``listeners`` until ``shutdown_trigger`` returns, then shut down cleanly.

        Args:
            listeners: listening sockets (they are closed on return).
            shutdown_trigger: an async function whose return starts the shutdown.
            task_status: started with the URLs served.
        """
        lifespan = Lifespan(self.site.app)
        try:
            async with trio.open_nursery() as outer:
                await outer.start(lifespan.run)
                async with trio.open_nursery() as connections:
                    async with trio.open_nursery() as acceptors:
                        for listener in listeners:
                            acceptors.start_soon(self._accept_loop, listener, connections)
                        task_status.started(
                            listener_urls(listeners, tls=self._ssl_context is not None)
                        )
                        await shutdown_trigger()
                        acceptors.cancel_scope.cancel()
                    for listener in listeners:
                        await listener.aclose()
                    await self._drain()
                    connections.cancel_scope.cancel()
                await lifespan.shutdown()
        finally:
            for listener in listeners:
                listener.socket.close()

    async def _drain(self) -> None:
        self._shutting_down = True
        for connection in list(self._connections):
            connection.begin_shutdown()
        busy = len(self._connections)
        with trio.move_on_after(self.site.limits.shutdown_timeout) as scope:
            while self._connections:
                await self._changed.wait()
        if scope.cancelled_caught:
            log.warning(
                "shutdown: %d of %d connection(s) still busy after %.1f s; closing them",
                len(self._connections),
                busy,
                self.site.limits.shutdown_timeout,
            )

    async def _accept_loop(
        self, listener: trio.abc.Listener[trio.SocketStream], nursery: trio.Nursery
    ) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as error:
                if error.errno not in _OUT_OF_RESOURCES:
                    raise
                self.out_of_fds.hit(errno.errorcode.get(error.errno or 0, str(error)))
                await trio.sleep(_ACCEPT_RETRY_SECONDS)
                continue
            self.out_of_fds.clear()
            if len(self._connections) >= self._cap:
                self.at_cap.hit()
                victim = self._eviction_candidate()
                if victim is None:
                    stream.socket.close()
                    continue
                victim.evict()
                self._evicted.add(victim)
            else:
                self.at_cap.clear()
            connection = self._connection(stream)
            self._connections[connection] = None
            nursery.start_soon(self._run_connection, connection)

    def _eviction_candidate(self) -> Connection | None:
        """The connection to close for a new one: the oldest that is idle or stuck.

        Age decides between the two: a stuck one is at least two seconds old, and an idle
        node's connection costs it only a reconnect.
        """
        now = trio.current_time()
        if len(self._evicted) >= _EVICTIONS_IN_FLIGHT or now < self._no_room_until:
            return None
        # Only at the cap: a walk from the oldest, which stops at the first match, is cheaper
        # than bookkeeping on every request (the oldest are the likeliest to match).
        for connection in self._connections:
            if not connection.closing and (
                connection.idle or connection.stuck(now, _STUCK_SECONDS)
            ):
                return connection
        self._no_room_until = now + _NO_ROOM_SECONDS
        return None

    def _connection(self, stream: trio.SocketStream) -> Connection:
        try:
            client = _address(stream.socket.getpeername())
            server = _address(stream.socket.getsockname())
        except OSError:
            client = server = None
        transport = SocketTransport(stream, send_timeout=self.site.limits.send_timeout)
        if self._ssl_context is None:
            return Connection(transport, self.site, client=client, server=server)
        tls = trio.SSLStream(
            answer_plain_http(transport),
            self._ssl_context,
            server_side=True,
            https_compatible=True,
        )
        return Connection(
            tls, self.site, scheme="https", client=client, server=server, transport=transport
        )

    async def _run_connection(self, connection: Connection) -> None:
        try:
            await connection.run()
        except Exception:
            log.exception("bug: a connection failed")
        finally:
            self._connections.pop(connection, None)
            self._evicted.discard(connection)
            if self._shutting_down:
                self._changed.set()
                self._changed = trio.Event()


def _address(address: object) -> tuple[str, int] | None:
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


async def serve(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    limits: Limits | None = None,
    inline: InlineRoutes | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    reuse_port: bool = False,
    shutdown_trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` (and ``inline`` routes) over HTTP/1.1 until ``shutdown_trigger`` returns.

    Args:
        app: the ASGI app.
        host: the address to listen on (``""``: all of both families).
        port: the port (0 picks one).
        limits: timeouts and sizes (defaults: :class:`Limits`).
        inline: routes answered on the connection, without ASGI.
        certfile: with ``keyfile``, serve HTTPS only.
        keyfile: the private key of ``certfile``.
        reuse_port: listen with SO_REUSEPORT (several worker processes on one port).
        shutdown_trigger: an async function whose return starts a clean shutdown.
        task_status: started with the list of URLs served.

    Raises:
        OSError: the address cannot be bound, or the certificate files read.
    """
    ssl_context = None
    if certfile is not None and keyfile is not None:
        ssl_context = make_ssl_context(certfile, keyfile)
    site = Site(app, inline=inline, limits=limits or Limits())
    listeners = await open_listeners(host, port, reuse_port=reuse_port)
    server = LeanServer(site, ssl_context=ssl_context)
    await server.serve(listeners, shutdown_trigger=shutdown_trigger, task_status=task_status)

"""The lean server's limits: how long a client may take, and how much it may send.

Every one of them closes a way a slow, broken or hostile client could hold a connection (and
its file descriptor) for ever; the defaults suit nodes that keep one connection open and beat
every few seconds.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

__all__ = ["Limits", "default_max_connections"]

#: The largest body any endpoint reads: a /hbstates query for a whole large machine.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
#: File descriptors kept free for everything but client connections: the HSM, etcd and Kafka
#: clients, log files, the event loop's own descriptors.
_RESERVED_FDS = 64


def default_max_connections() -> int:
    """Open connections allowed by default: the open-file limit less a reserve.

    At the cap, new connections are closed at once, so the process itself never runs out of
    file descriptors and ``/liveness`` keeps answering.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(1, soft - max(_RESERVED_FDS, soft // 10))


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Timeouts (seconds) and sizes (bytes) the lean HTTP server enforces.

    Attributes:
        keep_alive_timeout: an idle connection (no request in progress) is closed after this.
        head_timeout: a request line and headers must arrive within this, from their first
            byte (and the TLS handshake within this, from the accept); else 408, then close.
        body_timeout: a whole request body must arrive within this, from the end of its head;
            else 408, then close.
        send_timeout: a response must be computed and taken by the client within this.
        max_header_bytes: largest request line plus header block; beyond it 431, then close.
        max_body_bytes: largest request body; beyond it 413, then close (checked from
            ``Content-Length`` before any of the body is read; chunked bodies as they arrive).
        max_connections: most connections open at once; at it, a new connection closes the
            oldest idle or stuck one, or is closed at once when there is none. None: the
            open-file limit less a reserve (:func:`default_max_connections`).
        shutdown_timeout: on shutdown, requests in progress get this long to finish.
    """

    keep_alive_timeout: float = 30.0
    head_timeout: float = 10.0
    body_timeout: float = 30.0
    send_timeout: float = 30.0
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_connections: int | None = None
    shutdown_timeout: float = 2.0

    def __post_init__(self) -> None:
        for name in ("keep_alive_timeout", "head_timeout", "body_timeout", "send_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be more than 0 seconds")
        if self.shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must not be negative")
        if self.max_header_bytes < 256:
            raise ValueError("max_header_bytes must be at least 256")
        if self.max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")

    def connection_cap(self) -> int:
        """``max_connections``, or the default derived from the open-file limit."""
        if self.max_connections is not None:
            return self.max_connections
        return default_max_connections()

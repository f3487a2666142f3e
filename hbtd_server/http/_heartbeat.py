"""The two heartbeat POST routes, answered on the connection itself (#12).

No ASGI dictionaries and no task per request: the connection hands over the body and gets back
a status and the response body, with the same validation, engine call, metrics and bytes as the
ASGI fast path in front of Quart (``hbtd_server._fastpath``), whose helpers this calls.
"""

from __future__ import annotations

from ..core import MAX_HEARTBEAT_BODY, HbtdError
from ..engine import Engine
from ._app import accept_heartbeat
from ._fastpath import NOT_A_HEARTBEAT, heartbeat_route, heartbeat_too_large, rejected_heartbeat

__all__ = ["HeartbeatRoutes", "InlineRoutes"]


class InlineRoutes:
    """Routes a connection answers itself; the default answers none (all go to ASGI)."""

    #: The largest body an inline route reads.
    max_body = 0

    def match(self, method: bytes, path: str) -> tuple[bool, str | None]:
        """Whether ``method path`` is answered inline, and the route's argument."""
        return False, None

    def answer(self, argument: str | None, body: bytes) -> tuple[int, bytes]:
        """Status and problem body (empty on success) for a request ``match`` accepted."""
        raise NotImplementedError

    def too_large(self) -> bytes:
        """The problem body for a request body over ``max_body`` (status 413)."""
        raise NotImplementedError


class HeartbeatRoutes(InlineRoutes):
    """``POST /hmi/v1/heartbeat`` and ``POST /hmi/v1/heartbeat/{xname}`` over ``engine``."""

    max_body = MAX_HEARTBEAT_BODY

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def match(self, method: bytes, path: str) -> tuple[bool, str | None]:
        if method != b"POST":
            return False, None
        xname = heartbeat_route("POST", path)
        return xname != NOT_A_HEARTBEAT, xname

    def answer(self, argument: str | None, body: bytes) -> tuple[int, bytes]:
        try:
            accept_heartbeat(self._engine, body, argument)
        except HbtdError as error:
            return error.status_hint, rejected_heartbeat(self._engine, error)
        return 200, b""

    def too_large(self) -> bytes:
        return rejected_heartbeat(self._engine, heartbeat_too_large())

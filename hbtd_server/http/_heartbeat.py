"""The two heartbeat POST routes, answered on the connection itself (#12).

No ASGI dictionaries and no task per request: the connection hands over the body and gets back
a status and the response body, with the same validation and engine call as the Quart routes
of the same paths (``_app``), which answer only what reaches them otherwise (a test calling
the app alone). This is the one heartbeat handler of the server.
"""

from __future__ import annotations

from ..core import MAX_HEARTBEAT_BODY, HbtdError, PayloadTooLarge
from ..engine import Engine
from ._app import accept_heartbeat
from ._problem import problem_body

__all__ = ["HeartbeatRoutes", "InlineRoutes", "heartbeat_route"]

_FULL_PATH = "/hmi/v1/heartbeat"
_XNAME_PREFIX = "/hmi/v1/heartbeat/"
_PREFIX_LENGTH = len(_XNAME_PREFIX)

#: What :func:`heartbeat_route` returns for any other request.
NOT_A_HEARTBEAT = ""


def heartbeat_route(method: str, path: str) -> str | None:
    """Which heartbeat route a request is for.

    Returns:
        None for ``POST /hmi/v1/heartbeat``, the xname for ``POST /hmi/v1/heartbeat/{xname}``,
        and :data:`NOT_A_HEARTBEAT` (an empty string) for every other request.
    """
    if method == "POST":
        if path == _FULL_PATH:
            return None
        if path.startswith(_XNAME_PREFIX) and "/" not in path[_PREFIX_LENGTH:]:
            return path[_PREFIX_LENGTH:]  # empty for ".../heartbeat/": not a heartbeat
    return NOT_A_HEARTBEAT


def _rejected_heartbeat(engine: Engine, error: HbtdError) -> bytes:
    """Count a refused heartbeat and return its problem document."""
    engine.count_rejected(error.reason)
    return problem_body(error.status_hint, error.detail, _FULL_PATH, error.title)


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
            return error.status_hint, _rejected_heartbeat(self._engine, error)
        return 200, b""

    def too_large(self) -> bytes:
        too_large = PayloadTooLarge(f"Request body is larger than {MAX_HEARTBEAT_BODY} bytes")
        return _rejected_heartbeat(self._engine, too_large)

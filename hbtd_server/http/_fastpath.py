"""The heartbeat fast path: a bare ASGI layer in front of the Quart app.

Heartbeats are nearly all of the traffic (12,000 nodes every 3 s is 4,000/s). Quart costs
about 175 µs per request on top of hypercorn's own 400 µs (see docs/benchmarks.md), so the two
heartbeat POST routes are answered here with the same validation and engine call; every other
request, including a heartbeat URL with a wrong method, goes to the Quart app unchanged.
"""

from __future__ import annotations

from typing import Any

from ..core import MAX_HEARTBEAT_BODY, HbtdError, PayloadTooLarge
from ..engine import Engine
from ..ops import count_rejected_heartbeat
from ._app import accept_heartbeat
from ._problem import PROBLEM_CONTENT_TYPE, problem_body

__all__ = [
    "NOT_A_HEARTBEAT",
    "HeartbeatFastPath",
    "heartbeat_route",
    "heartbeat_too_large",
    "rejected_heartbeat",
]

_FULL_PATH = "/hmi/v1/heartbeat"
_XNAME_PREFIX = "/hmi/v1/heartbeat/"
_PREFIX_LENGTH = len(_XNAME_PREFIX)
_OK_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
_OK_BODY = {"type": "http.response.body", "body": b""}

ASGIApp = Any  # the ASGI callable protocol; Quart's own type is not exported in a stable place

#: What :func:`heartbeat_route` returns for any other request.
NOT_A_HEARTBEAT = ""


def heartbeat_route(method: str, path: str) -> str | None:
    """Which heartbeat route a request is for, shared with the lean server (#12).

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


def heartbeat_too_large() -> PayloadTooLarge:
    """The error for a heartbeat body over ``MAX_HEARTBEAT_BODY`` (both heartbeat paths)."""
    return PayloadTooLarge(f"Request body is larger than {MAX_HEARTBEAT_BODY} bytes")


def rejected_heartbeat(engine: Engine, error: HbtdError) -> bytes:
    """Count a refused heartbeat and return its problem document (both heartbeat paths)."""
    count_rejected_heartbeat(engine, error)
    return problem_body(error.status_hint, error.detail, _FULL_PATH, error.title)


class HeartbeatFastPath:
    """ASGI app: heartbeat POSTs answered directly, everything else passed to ``app``."""

    def __init__(self, engine: Engine, app: ASGIApp) -> None:
        self.engine = engine
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            xname = heartbeat_route(scope["method"], scope["path"])
            if xname != NOT_A_HEARTBEAT:
                await self._heartbeat(xname, receive, send)
                return
        await self.app(scope, receive, send)

    async def _heartbeat(self, xname: str | None, receive: Any, send: Any) -> None:
        try:
            body = await _read_body(receive)
            accept_heartbeat(self.engine, body, xname)
        except HbtdError as error:
            document = rejected_heartbeat(self.engine, error)
            await send(
                {
                    "type": "http.response.start",
                    "status": error.status_hint,
                    "headers": [
                        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                        (b"content-length", str(len(document)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": document})
            return
        await send(_OK_START)
        await send(_OK_BODY)


async def _read_body(receive: Any) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body  # the usual case: one small chunk
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_HEARTBEAT_BODY:
            raise heartbeat_too_large()
        chunks.append(chunk)
    return b"".join(chunks)

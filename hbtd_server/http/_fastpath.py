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

__all__ = ["HeartbeatFastPath"]

_FULL_PATH = "/hmi/v1/heartbeat"
_XNAME_PREFIX = "/hmi/v1/heartbeat/"
_PREFIX_LENGTH = len(_XNAME_PREFIX)
_OK_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
_OK_BODY = {"type": "http.response.body", "body": b""}

ASGIApp = Any  # the ASGI callable protocol; Quart's own type is not exported in a stable place


class HeartbeatFastPath:
    """ASGI app: heartbeat POSTs answered directly, everything else passed to ``app``."""

    def __init__(self, engine: Engine, app: ASGIApp) -> None:
        self.engine = engine
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path == _FULL_PATH:
                await self._heartbeat(None, receive, send)
                return
            if path.startswith(_XNAME_PREFIX) and "/" not in path[_PREFIX_LENGTH:]:
                xname = path[_PREFIX_LENGTH:]
                if xname:
                    await self._heartbeat(xname, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _heartbeat(self, xname: str | None, receive: Any, send: Any) -> None:
        try:
            body = await _read_body(receive)
            accept_heartbeat(self.engine, body, xname)
        except HbtdError as error:
            count_rejected_heartbeat(self.engine, error)
            document = problem_body(error.status_hint, error.detail, _FULL_PATH, error.title)
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
            raise PayloadTooLarge(f"Request body is larger than {MAX_HEARTBEAT_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)

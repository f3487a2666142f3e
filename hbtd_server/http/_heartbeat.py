"""The heartbeat answer: one framework-free function behind every heartbeat route.

:func:`answer_heartbeat` validates a heartbeat, hands it to the engine and says what to answer
(status and problem document), counting a refusal by its typed reason. The lean server answers
``POST /hmi/v1/heartbeat`` and ``POST /hmi/v1/heartbeat/{xname}`` on the connection itself
(:class:`HeartbeatRoutes`: no ASGI dictionaries, no task per request). The Quart app keeps
routes of the same paths, which give other methods their 405 with ``Allow: POST`` and answer a
POST that reaches the app alone (a test or tool that serves it without the lean server) by the
same function, so both give the same bytes.
"""

from __future__ import annotations

import orjson

from ..core import MAX_HEARTBEAT_BODY, HbtdError, PayloadTooLarge, parse_heartbeat
from ..engine import Engine
from ._problem import problem_body

__all__ = ["HEARTBEAT_PATH", "HeartbeatRoutes", "InlineRoutes", "answer_heartbeat"]

#: The full form's path; every heartbeat problem names it as its ``instance``, as upstream.
HEARTBEAT_PATH = "/hmi/v1/heartbeat"
_XNAME_PREFIX = HEARTBEAT_PATH + "/"
_PREFIX_LENGTH = len(_XNAME_PREFIX)


def answer_heartbeat(engine: Engine, xname: str | None, body: bytes | None) -> tuple[int, bytes]:
    """Take one heartbeat POST and say what to answer.

    Args:
        engine: the tracker.
        xname: the ``{xname}`` of ``POST /hmi/v1/heartbeat/{xname}``; None for the full form.
        body: the request body; None when it was larger than ``MAX_HEARTBEAT_BODY`` and was
            not read.

    Returns:
        The status, and the problem document (empty for 200). A refusal is counted by its
        reason (``Engine.count_rejected``).
    """
    try:
        if body is None:
            raise PayloadTooLarge(f"Request body is larger than {MAX_HEARTBEAT_BODY} bytes")
        engine.heartbeat(parse_heartbeat(body, path_xname=xname, fast_loads=orjson.loads))
    except HbtdError as error:
        engine.count_rejected(error.reason)
        status = error.status_hint
        return status, problem_body(status, error.detail, HEARTBEAT_PATH, error.title)
    return 200, b""


class InlineRoutes:
    """Routes a connection answers itself; the default answers none (all go to ASGI)."""

    #: The largest body an inline route reads.
    max_body = 0

    def match(self, method: bytes, path: str) -> tuple[bool, str | None]:
        """Whether ``method path`` is answered inline, and the route's argument."""
        return False, None

    def answer(self, argument: str | None, body: bytes | None) -> tuple[int, bytes]:
        """Status and problem body (empty on success) for a request ``match`` accepted;
        ``body`` is None when it was larger than ``max_body`` (and was not read)."""
        raise NotImplementedError


class HeartbeatRoutes(InlineRoutes):
    """``POST /hmi/v1/heartbeat`` and ``POST /hmi/v1/heartbeat/{xname}`` over ``engine``."""

    max_body = MAX_HEARTBEAT_BODY

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def match(self, method: bytes, path: str) -> tuple[bool, str | None]:
        if method != b"POST":
            return False, None
        if path == HEARTBEAT_PATH:
            return True, None
        # ".../heartbeat/" (an empty name) and deeper paths are not heartbeats: Quart's 404.
        xname = path[_PREFIX_LENGTH:]
        if xname and path.startswith(_XNAME_PREFIX) and "/" not in xname:
            return True, xname
        return False, None

    def answer(self, argument: str | None, body: bytes | None) -> tuple[int, bytes]:
        return answer_heartbeat(self._engine, argument, body)

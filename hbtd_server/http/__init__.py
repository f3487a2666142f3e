"""The lean HTTP/1.1 server on trio + httptools (#12).

Heartbeats are answered on the connection itself; every other request goes to the Quart app
in process through ASGI. See ``_connection`` for the theory of operation and docs/operations.md
for the limits.
"""

from __future__ import annotations

from ._asgi import AsgiExchange, Lifespan, LifespanFailed, http_scope, split_target
from ._connection import Connection, Site
from ._heartbeat import HeartbeatRoutes, InlineRoutes
from ._limits import DEFAULT_MAX_BODY_BYTES, Limits, default_max_connections
from ._listeners import listener_urls, make_ssl_context, open_listeners
from ._reader import END, Failure, Phase, RequestHead, RequestReader
from ._server import BurstLog, LeanServer, serve

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "END",
    "AsgiExchange",
    "BurstLog",
    "Connection",
    "Failure",
    "HeartbeatRoutes",
    "InlineRoutes",
    "LeanServer",
    "Lifespan",
    "LifespanFailed",
    "Limits",
    "Phase",
    "RequestHead",
    "RequestReader",
    "Site",
    "default_max_connections",
    "http_scope",
    "listener_urls",
    "make_ssl_context",
    "open_listeners",
    "serve",
    "split_target",
]

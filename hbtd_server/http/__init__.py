"""The HTTP side of the tracker: the lean HTTP/1.1 server on trio + httptools (#12), the
Quart app for the HBTD v1 API, the heartbeat routes answered on the connection, problem
bodies, the admin token and the OpenAPI document.

Heartbeats are answered on the connection itself; every other request goes to the Quart app
in process through ASGI. See ``_connection`` for the theory of operation and
docs/operations.md for the limits. Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._app import MAX_HBSTATES_NAMES, MAX_PARAMS_BODY, MAX_REQUEST_BODY, create_quart_app
from ._asgi import AsgiExchange, Lifespan, LifespanFailed, http_scope
from ._auth import ADMIN_ENDPOINTS, PROMETHEUS_PATH, READ_ENDPOINTS, AdminAuth, auth_hook
from ._connection import Connection, Site
from ._heartbeat import HeartbeatRoutes, InlineRoutes
from ._limits import DEFAULT_MAX_BODY_BYTES, Limits, default_max_connections
from ._listeners import listener_urls, make_ssl_context, open_listeners
from ._openapi import OPENAPI_RESOURCE, load_openapi, openapi_json
from ._options import HttpSettings, Operability
from ._problem import PROBLEM_CONTENT_TYPE, problem_body
from ._reader import (
    END,
    HEAD_SLICE,
    MAX_CHUNKS,
    Failure,
    Phase,
    RequestHead,
    RequestReader,
    split_target,
)
from ._server import BurstLog, LeanServer, serve
from ._transport import YIELD_EVERY, SocketTransport

__all__ = [
    "ADMIN_ENDPOINTS",
    "DEFAULT_MAX_BODY_BYTES",
    "END",
    "HEAD_SLICE",
    "MAX_CHUNKS",
    "MAX_HBSTATES_NAMES",
    "MAX_PARAMS_BODY",
    "MAX_REQUEST_BODY",
    "OPENAPI_RESOURCE",
    "PROBLEM_CONTENT_TYPE",
    "PROMETHEUS_PATH",
    "READ_ENDPOINTS",
    "YIELD_EVERY",
    "AdminAuth",
    "AsgiExchange",
    "BurstLog",
    "Connection",
    "Failure",
    "HeartbeatRoutes",
    "HttpSettings",
    "InlineRoutes",
    "LeanServer",
    "Lifespan",
    "LifespanFailed",
    "Limits",
    "Operability",
    "Phase",
    "RequestHead",
    "RequestReader",
    "Site",
    "SocketTransport",
    "auth_hook",
    "create_quart_app",
    "default_max_connections",
    "http_scope",
    "listener_urls",
    "load_openapi",
    "make_ssl_context",
    "open_listeners",
    "openapi_json",
    "problem_body",
    "serve",
    "split_target",
]

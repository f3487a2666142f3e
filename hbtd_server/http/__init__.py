"""The HTTP side of the tracker: the lean HTTP/1.1 server on trio + httptools, the Quart app
for the HBTD v1 API, the heartbeat routes answered on the connection, problem bodies, the admin
token and the OpenAPI document.

Heartbeats are answered on the connection itself; every other request goes to the Quart app
in process through ASGI. See ``_connection`` for the theory of operation and
docs/operations.md for the limits. The names below are what the service, the command line and
the benchmarks use; the rest is private (tests import the ``_`` modules: they are white-box).
"""

from __future__ import annotations

from ..core import export_names as _export_names
from ._app import create_quart_app
from ._auth import AdminAuth
from ._heartbeat import HeartbeatRoutes
from ._limits import Limits
from ._options import HttpSettings, Operability
from ._server import serve
from ._transport import SocketTransport

__all__ = [
    "AdminAuth",
    "HeartbeatRoutes",
    "HttpSettings",
    "Limits",
    "Operability",
    "SocketTransport",
    "create_quart_app",
    "serve",
]

_export_names(globals())

"""The HTTP side of the tracker: the Quart app for the HBTD v1 API, the heartbeat fast path,
problem bodies, the admin token and the OpenAPI document.

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._app import (
    MAX_HBSTATES_NAMES,
    MAX_PARAMS_BODY,
    MAX_REQUEST_BODY,
    accept_heartbeat,
    create_quart_app,
)
from ._auth import ADMIN_ENDPOINTS, PROMETHEUS_PATH, READ_ENDPOINTS, AdminAuth, auth_hook
from ._fastpath import HeartbeatFastPath
from ._openapi import OPENAPI_RESOURCE, load_openapi, openapi_json
from ._options import Operability
from ._problem import PROBLEM_CONTENT_TYPE, problem_body

__all__ = [
    "ADMIN_ENDPOINTS",
    "MAX_HBSTATES_NAMES",
    "MAX_PARAMS_BODY",
    "MAX_REQUEST_BODY",
    "OPENAPI_RESOURCE",
    "PROBLEM_CONTENT_TYPE",
    "PROMETHEUS_PATH",
    "READ_ENDPOINTS",
    "AdminAuth",
    "HeartbeatFastPath",
    "Operability",
    "accept_heartbeat",
    "auth_hook",
    "create_quart_app",
    "load_openapi",
    "openapi_json",
    "problem_body",
]

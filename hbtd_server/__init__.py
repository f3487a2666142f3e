"""hbtd_server: the Heartbeat Tracker Service (HBTD API v1).

The sans-IO core is ``hbtd_server.core``; this package adds the HTTP API, the HSM notifier and
the service that runs them.

The public names below are imported on first use (PEP 562), so that ``hbtd_server.core``
alone (stdlib only) can be imported without the web stack: the node agent needs the xname
rules and must stay small.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._extras import missing_for_extra
    from .engine import Engine, HsmHealth, TransitionListener
    from .health import StoreHealth
    from .http import create_quart_app
    from .notify import MsgBusHealth, TelemetryPublisher, encode_message, make_hsm_client
    from .service import run_tracker_tasks, serve
    from .store import EtcdStore, MemoryBackend, MemoryStore, Store, StoreUnavailable

#: Public name -> the module or package that exports it.
_EXPORTS = {
    "Engine": ".engine",
    "EtcdStore": ".store",
    "MemoryBackend": ".store",
    "MemoryStore": ".store",
    "Store": ".store",
    "StoreHealth": ".health",
    "StoreUnavailable": ".store",
    "HsmHealth": ".engine",
    "MsgBusHealth": ".notify",
    "TelemetryPublisher": ".notify",
    "TransitionListener": ".engine",
    "create_quart_app": ".http",
    "encode_message": ".notify",
    "make_hsm_client": ".notify",
    "missing_for_extra": "._extras",
    "run_tracker_tasks": ".service",
    "serve": ".service",
}

__all__ = [
    "Engine",
    "EtcdStore",
    "HsmHealth",
    "MemoryBackend",
    "MemoryStore",
    "MsgBusHealth",
    "Store",
    "StoreHealth",
    "StoreUnavailable",
    "TelemetryPublisher",
    "TransitionListener",
    "create_quart_app",
    "encode_message",
    "make_hsm_client",
    "missing_for_extra",
    "run_tracker_tasks",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hbtd_server' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)

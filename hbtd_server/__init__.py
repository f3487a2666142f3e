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
    from ._api import create_quart_app
    from ._engine import Engine, HsmHealth, TransitionListener
    from ._etcd import EtcdStore
    from ._fastpath import HeartbeatFastPath
    from ._hsm import make_hsm_client
    from ._service import run_tracker_tasks, serve
    from ._store import MemoryBackend, MemoryStore, Store, StoreHealth, StoreUnavailable
    from ._telemetry import MsgBusHealth, TelemetryPublisher, encode_message

#: Public name -> the private module that defines it.
_EXPORTS = {
    "Engine": "._engine",
    "EtcdStore": "._etcd",
    "MemoryBackend": "._store",
    "MemoryStore": "._store",
    "Store": "._store",
    "StoreHealth": "._store",
    "StoreUnavailable": "._store",
    "HeartbeatFastPath": "._fastpath",
    "HsmHealth": "._engine",
    "MsgBusHealth": "._telemetry",
    "TelemetryPublisher": "._telemetry",
    "TransitionListener": "._engine",
    "create_quart_app": "._api",
    "encode_message": "._telemetry",
    "make_hsm_client": "._hsm",
    "run_tracker_tasks": "._service",
    "serve": "._service",
}

__all__ = [
    "Engine",
    "EtcdStore",
    "HeartbeatFastPath",
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
    "run_tracker_tasks",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hbtd_server' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)

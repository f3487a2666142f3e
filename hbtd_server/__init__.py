"""hbtd_server: the Heartbeat Tracker Service (HBTD API v1).

The sans-IO core is ``hbtd_server.core``; this package adds the HTTP API, the HSM notifier and
the service that runs them.

The public names below are imported on first use (PEP 562), so that ``hbtd_server.core``
alone (stdlib only) can be imported without the web stack: the node agent needs the xname
rules and must stay small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core import export_names as _export_names

if TYPE_CHECKING:
    from ._extras import missing_for_extra
    from .engine import Engine, HsmHealth, TransitionListener
    from .health import StoreHealth
    from .http import create_quart_app
    from .notify import MsgBusHealth, TelemetryPublisher, encode_message, make_hsm_client
    from .service import run_tracker_tasks, serve
    from .store import EtcdStore, MemoryBackend, MemoryStore, Store, StoreUnavailable

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

# Every name is loaded on first use: the modules import trio, quart and the rest.
__getattr__ = _export_names(
    globals(),
    lazy={
        "._extras": ("missing_for_extra",),
        ".engine": ("Engine", "HsmHealth", "TransitionListener"),
        ".health": ("StoreHealth",),
        ".http": ("create_quart_app",),
        ".notify": ("MsgBusHealth", "TelemetryPublisher", "encode_message", "make_hsm_client"),
        ".service": ("run_tracker_tasks", "serve"),
        ".store": ("EtcdStore", "MemoryBackend", "MemoryStore", "Store", "StoreUnavailable"),
    },
)

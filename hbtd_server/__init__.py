"""hbtd_server: the Heartbeat Tracker Service (HBTD API v1).

The sans-IO core is ``hbtd_server.core``; this package adds the HTTP API, the HSM notifier and
the service that runs them.
"""

from ._api import create_quart_app
from ._engine import Engine, HsmHealth, TransitionListener
from ._fastpath import HeartbeatFastPath
from ._hsm import make_hsm_client
from ._service import run_tracker_tasks, serve

__all__ = [
    "Engine",
    "HeartbeatFastPath",
    "HsmHealth",
    "TransitionListener",
    "create_quart_app",
    "make_hsm_client",
    "run_tracker_tasks",
    "serve",
]

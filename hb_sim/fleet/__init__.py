"""Heartbeat fleets: simulated agents, in virtual time or over real sockets.

``LiveFleet`` is the one live fleet (the runner's live clock, integration tests and
benchmarks); ``VirtualFleet`` hands heartbeats to an in-process tracker on a slotted schedule.
Both give the timeline player the levers of ``HeartbeatFleet``.
"""

from __future__ import annotations

from hbtd_server.core import export_names as _export_names

from ._http import HeartbeatRejected, HttpConnection
from ._live import LiveFleet, ScheduleGap
from ._protocol import DeliveryLog, HeartbeatFleet
from ._virtual import DEFAULT_SLOT, VirtualFleet

__all__ = [
    "DEFAULT_SLOT",
    "DeliveryLog",
    "HeartbeatFleet",
    "HeartbeatRejected",
    "HttpConnection",
    "LiveFleet",
    "ScheduleGap",
    "VirtualFleet",
]

_export_names(globals())

"""Telling others about changes: the level-triggered HSM notifier, and the edge-triggered
telemetry publisher (its message encoding and its Kafka adapter apart).

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._checks import PARAM_CHECKS, sm_url_problem
from ._hsm import (
    AWAY_REPEAT,
    BATCH_WINDOW,
    READY_POLL_PERIOD,
    flush_hsm,
    make_hsm_client,
    run_hsm_notifier,
    run_hsm_ready_poller,
)
from ._kafka import BlockingRunner, BusTarget, ProducerFactory, ProducerLike
from ._reconcile import MAX_IDS_PER_READ, reconcile_round, run_reconciler
from ._telemetry import (
    CONNECTED,
    DEFAULT_CAPACITY,
    DEFAULT_WINDOW,
    NOT_CONNECTED,
    MsgBusHealth,
    TelemetryPublisher,
    msgbus_health,
    run_telemetry,
)
from ._telemetry_message import MESSAGE_ID, encode_message

__all__ = [
    "AWAY_REPEAT",
    "BATCH_WINDOW",
    "CONNECTED",
    "DEFAULT_CAPACITY",
    "DEFAULT_WINDOW",
    "MAX_IDS_PER_READ",
    "MESSAGE_ID",
    "NOT_CONNECTED",
    "PARAM_CHECKS",
    "READY_POLL_PERIOD",
    "BlockingRunner",
    "BusTarget",
    "MsgBusHealth",
    "ProducerFactory",
    "ProducerLike",
    "TelemetryPublisher",
    "encode_message",
    "flush_hsm",
    "make_hsm_client",
    "msgbus_health",
    "reconcile_round",
    "run_hsm_notifier",
    "run_hsm_ready_poller",
    "run_reconciler",
    "run_telemetry",
    "sm_url_problem",
]

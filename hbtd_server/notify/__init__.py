"""Telling others about changes: the level-triggered HSM notifier, and the edge-triggered
telemetry publisher (its message encoding and its Kafka adapter apart).

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._hsm import (
    BATCH_WINDOW,
    READY_POLL_PERIOD,
    flush_hsm,
    make_hsm_client,
    run_hsm_notifier,
    run_hsm_ready_poller,
)
from ._kafka import (
    BACKOFF_MAX,
    BACKOFF_MIN,
    PROBE_TIMEOUT,
    PURGED,
    BlockingRunner,
    BusTarget,
    ProducerFactory,
    ProducerLike,
    close_producer,
    in_worker_thread,
    kafka_producer,
    probe,
    producer_config,
)
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
    "BACKOFF_MAX",
    "BACKOFF_MIN",
    "BATCH_WINDOW",
    "CONNECTED",
    "DEFAULT_CAPACITY",
    "DEFAULT_WINDOW",
    "MESSAGE_ID",
    "NOT_CONNECTED",
    "PROBE_TIMEOUT",
    "PURGED",
    "READY_POLL_PERIOD",
    "BlockingRunner",
    "BusTarget",
    "MsgBusHealth",
    "ProducerFactory",
    "ProducerLike",
    "TelemetryPublisher",
    "close_producer",
    "encode_message",
    "flush_hsm",
    "in_worker_thread",
    "kafka_producer",
    "make_hsm_client",
    "msgbus_health",
    "probe",
    "producer_config",
    "run_hsm_notifier",
    "run_hsm_ready_poller",
    "run_telemetry",
]

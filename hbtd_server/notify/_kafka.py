"""The Kafka side of telemetry: confluent-kafka's producer, its settings, probe and close.

The publisher (``_telemetry.py``) speaks to a :class:`ProducerLike`, so tests can hand it a
fake; here is what makes and drives the real one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import confluent_kafka
import trio

__all__ = [
    "BACKOFF_MAX",
    "BACKOFF_MIN",
    "PROBE_TIMEOUT",
    "PURGED",
    "BlockingRunner",
    "BusTarget",
    "ProducerFactory",
    "ProducerLike",
    "close_producer",
    "in_worker_thread",
    "kafka_producer",
    "probe",
    "producer_config",
]

_librdkafka_log = logging.getLogger("hbtd.telemetry.librdkafka")

#: How long one connection probe (a metadata request) may take.
PROBE_TIMEOUT = 1.0
BACKOFF_MIN = 0.25
BACKOFF_MAX = 2.0
#: Delivery errors that mean "purged by us", not "the broker failed".
PURGED = frozenset(
    {confluent_kafka.KafkaError._PURGE_QUEUE, confluent_kafka.KafkaError._PURGE_INFLIGHT}
)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class BusTarget:
    """Where messages go: ``bootstrap`` is ``host:port``."""

    bootstrap: str
    topic: str


class ProducerLike(Protocol):
    """The part of ``confluent_kafka.Producer`` the publisher uses."""

    def produce(
        self,
        topic: str,
        *,
        value: bytes,
        key: bytes,
        on_delivery: Callable[[Any, Any], None],
    ) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def purge(
        self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True
    ) -> None: ...

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any: ...

    def close(self) -> bool: ...


ProducerFactory = Callable[[dict[str, Any]], ProducerLike]


class BlockingRunner(Protocol):
    """Runs a blocking call off the trio thread (``trio.to_thread.run_sync`` in service)."""

    def __call__(self, fn: Callable[[], _T], /) -> Awaitable[_T]: ...


def kafka_producer(config: dict[str, Any]) -> ProducerLike:
    return confluent_kafka.Producer(config)


async def in_worker_thread(fn: Callable[[], _T]) -> _T:
    # Abandoned on cancel: every call here returns within a second or so anyway.
    return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)


def producer_config(target: BusTarget, on_error: Callable[[Any], None]) -> dict[str, Any]:
    return {
        "bootstrap.servers": target.bootstrap,
        "client.id": "hbtd",
        "enable.idempotence": True,
        "acks": "all",
        # Never give up on a message: the buffer, not the client, decides what is dropped.
        "message.timeout.ms": 0,
        "linger.ms": 5,
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": int(BACKOFF_MAX * 1000),
        "error_cb": on_error,
        "logger": _LibrdkafkaLog(),
    }


class _LibrdkafkaLog:
    # librdkafka logs every failed reconnect; the publisher logs state changes itself.
    def log(self, _level: int, fmt: str, *args: object) -> None:
        _librdkafka_log.debug(fmt, *args)


def probe(producer: ProducerLike, topic: str, timeout: float) -> str | None:
    """Ask the broker for the topic's metadata; None if it answered and the topic is usable."""
    try:
        metadata = producer.list_topics(topic, timeout=timeout)
    except confluent_kafka.KafkaException as error:
        return f"metadata request failed: {error.args[0].str() if error.args else error}"
    topic_metadata = metadata.topics.get(topic)
    if topic_metadata is None:
        return f"topic {topic} missing from the broker's metadata"
    if topic_metadata.error is not None:
        return f"topic {topic}: {topic_metadata.error.str()}"
    return None


def close_producer(producer: ProducerLike) -> None:
    producer.purge(in_queue=True, in_flight=True, blocking=True)
    producer.poll(0)
    producer.close()

"""A real Kafka-protocol broker on loopback: librdkafka's mock cluster, run in this process.

confluent-kafka ships librdkafka, whose mock cluster speaks the Kafka protocol (metadata,
idempotent produce, fetch) on a loopback port. The Python package exposes it only through the
``test.mock.num.brokers`` property, which gives no way to stop a broker and start it again at
the same address; so this module calls librdkafka's mock API (``rdkafka_mock.h``) through
ctypes, on the very library confluent-kafka loaded. Any process can then reach the broker at
``bootstrap``: a tracker started as a subprocess, a consumer in the test.

Also a consumer that reads a whole topic from the beginning, without a consumer group (no
rebalance delay).
"""

from __future__ import annotations

import ctypes
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import confluent_kafka
import trio

__all__ = ["TOPIC", "MockKafkaCluster", "TopicReader", "read_topic", "read_until"]

#: The topic hbtd publishes to in the tests (upstream's default).
TOPIC = "cray-hmsheartbeat-notifications"

log = logging.getLogger("tests.kafka")

_RD_KAFKA_PRODUCER = 0


def _librdkafka() -> ctypes.CDLL:
    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    candidates = sorted(libs.glob("librdkafka*.so*"))
    if not candidates:
        raise RuntimeError(f"librdkafka not found beside confluent-kafka in {libs}")
    lib = ctypes.CDLL(str(candidates[0]))
    p, i, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "rd_kafka_conf_new": (p, []),
        "rd_kafka_conf_set": (i, [p, s, s, s, ctypes.c_size_t]),
        "rd_kafka_new": (p, [i, p, s, ctypes.c_size_t]),
        "rd_kafka_destroy": (None, [p]),
        "rd_kafka_mock_cluster_new": (p, [p, i]),
        "rd_kafka_mock_cluster_destroy": (None, [p]),
        "rd_kafka_mock_cluster_bootstraps": (s, [p]),
        "rd_kafka_mock_topic_create": (i, [p, s, i, i]),
        "rd_kafka_mock_broker_set_down": (i, [p, ctypes.c_int32]),
        "rd_kafka_mock_broker_set_up": (i, [p, ctypes.c_int32]),
        "rd_kafka_mock_broker_set_rtt": (i, [p, ctypes.c_int32, i]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class MockKafkaCluster:
    """A one-broker mock Kafka cluster, listening on a loopback port until closed."""

    def __init__(self) -> None:
        self._lib = _librdkafka()
        errors = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        # The handle only hosts the cluster; it has no brokers of its own to complain about.
        self._lib.rd_kafka_conf_set(conf, b"log_level", b"3", errors, len(errors))
        self._handle = self._lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errors, len(errors))
        if not self._handle:
            raise RuntimeError(f"rd_kafka_new failed: {errors.value.decode()}")
        self._cluster = self._lib.rd_kafka_mock_cluster_new(self._handle, 1)
        if not self._cluster:
            self._lib.rd_kafka_destroy(self._handle)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.bootstrap: str = self._lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()
        self.up = True

    @property
    def port(self) -> int:
        """The broker's port on 127.0.0.1."""
        return int(self.bootstrap.rsplit(":", 1)[1])

    def telemetry_host(self, topic: str) -> str:
        """``Telemetry_host`` for this broker: ``host:port:topic``."""
        return f"{self.bootstrap}:{topic}"

    def create_topic(self, topic: str, *, partitions: int = 4) -> None:
        """Create ``topic`` now (otherwise the first producer creates it with 4 partitions)."""
        code = self._lib.rd_kafka_mock_topic_create(self._cluster, topic.encode(), partitions, 1)
        if code:
            raise RuntimeError(f"creating topic {topic}: error {code}")

    def set_down(self) -> None:
        """Take the broker away: connections are closed, new ones refused."""
        self._lib.rd_kafka_mock_broker_set_down(self._cluster, 1)
        self.up = False

    def set_up(self) -> None:
        """Bring the broker back at the same address, with the messages it had."""
        self._lib.rd_kafka_mock_broker_set_up(self._cluster, 1)
        self.up = True

    def set_rtt(self, milliseconds: int) -> None:
        """Make the broker answer every request this much later."""
        self._lib.rd_kafka_mock_broker_set_rtt(self._cluster, 1, milliseconds)

    def close(self) -> None:
        """Stop the cluster."""
        if self._cluster:
            self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
            self._cluster = None
            self._lib.rd_kafka_destroy(self._handle)

    def __enter__(self) -> MockKafkaCluster:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()


class _QuietLog:
    # A consumer logs every failed reconnect while a test holds the broker down.
    def log(self, level: int, fmt: str, *args: object) -> None:
        log.debug(fmt, *args)


class TopicReader:
    """Reads every partition of a topic from the beginning; ``poll`` is blocking."""

    def __init__(self, bootstrap: str, topic: str, *, partitions: int = 4) -> None:
        self.topic = topic
        self.messages: list[tuple[str, dict[str, str], bytes]] = []
        self._consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "hbtd-tests",
                "enable.auto.commit": False,
                "logger": _QuietLog(),
            }
        )
        self._consumer.assign(
            [
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for p in range(partitions)
            ]
        )

    def poll(self, seconds: float) -> int:
        """Read what arrives within ``seconds``; return how many messages were new."""
        batch = self._consumer.consume(num_messages=10_000, timeout=seconds)
        count = 0
        for message in batch:
            if message.error() is not None:
                continue
            key = message.key()
            value = message.value()
            assert isinstance(key, bytes)
            assert isinstance(value, bytes)
            self.messages.append((key.decode(), json.loads(value), value))
            count += 1
        return count

    def by_component(self) -> dict[str, list[str]]:
        """Info strings per component (the message key), in the order read."""
        out: dict[str, list[str]] = {}
        for key, document, _raw in self.messages:
            out.setdefault(key, []).append(document["Info"])
        return out

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


@contextmanager
def read_topic(bootstrap: str, topic: str, *, partitions: int = 4) -> Iterator[TopicReader]:
    """A ``TopicReader`` that is closed afterwards."""
    reader = TopicReader(bootstrap, topic, partitions=partitions)
    try:
        yield reader
    finally:
        reader.close()


async def read_until(
    reader: TopicReader, done: Callable[[TopicReader], bool], *, within: float
) -> None:
    """Read (in a worker thread) until ``done(reader)``; fail after ``within`` seconds."""
    with trio.fail_after(within):
        while not done(reader):
            await trio.to_thread.run_sync(reader.poll, 0.2, abandon_on_cancel=True)

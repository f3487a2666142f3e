"""The telemetry publisher against a fake producer, on trio's autojump clock (issue 6).

The fake behaves like confluent-kafka's ``Producer`` as the publisher sees it: ``produce``
queues, ``poll`` delivers everything queued (or reports that all brokers are down), ``purge``
hands queued messages back as purged, ``list_topics`` fails while the broker is down. Every
blocking call takes one virtual millisecond. The real broker is exercised in
``tests/integration/test_telemetry_*.py``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

import confluent_kafka
import pytest
import trio
import trio.testing

from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Kind, Params, Transition
from hbtd_server.notify import (
    CONNECTED,
    NOT_CONNECTED,
    TelemetryPublisher,
    encode_message,
    msgbus_health,
    run_telemetry,
)
from tests.polling import until

_T = TypeVar("_T")
TOPIC = "cray-hmsheartbeat-notifications"
HOST = f"127.0.0.1:9092:{TOPIC}"
KafkaError = confluent_kafka.KafkaError


def transition(xname: str, kind: Kind = Kind.STARTED, timestamp: str = "ts") -> Transition:
    return Transition(xname, kind, 10.0, 10.0, timestamp, "OK")


def wave(count: int, start: int = 0, kind: Kind = Kind.STARTED) -> list[Transition]:
    return [transition(f"x{1000 + i}c0s0b0n0", kind) for i in range(start, start + count)]


def params(*, on: bool = True, host: str = HOST) -> Params:
    changes = {"Use_telemetry": "1" if on else "0"}
    if host:
        changes["Telemetry_host"] = host
    return DEFAULT_PARAMS.patched(changes)


@dataclass
class FakeBroker:
    """What reached "Kafka", and whether it is reachable."""

    up: bool = True
    log: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # bootstrap, topic, key
    producers: list[FakeProducer] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    fail_next_delivery: bool = False

    def factory(self, config: dict[str, Any]) -> FakeProducer:
        producer = FakeProducer(self, config)
        self.producers.append(producer)
        return producer

    def ids(self) -> list[str]:
        return [key for _bootstrap, _topic, key, _value in self.log]


class FakeProducer:
    def __init__(self, broker: FakeBroker, config: dict[str, Any]) -> None:
        self.broker = broker
        self.config = config
        self.queue: list[tuple[str, bytes, bytes, Callable[[Any, Any], None]]] = []
        self.closed = False
        self.told_down = False

    def produce(
        self, topic: str, *, value: bytes, key: bytes, on_delivery: Callable[[Any, Any], None]
    ) -> None:
        assert not self.closed
        self.queue.append((topic, value, key, on_delivery))

    def poll(self, timeout: float) -> int:
        if not self.broker.up:
            if not self.told_down:
                self.told_down = True
                self.config["error_cb"](KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 down"))
            return 0
        self.told_down = False
        served, self.queue = self.queue, []
        for topic, value, key, callback in served:
            if self.broker.fail_next_delivery:
                self.broker.fail_next_delivery = False
                callback(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS, "not enough"), None)
                continue
            self.broker.log.append((self.config["bootstrap.servers"], topic, key.decode(), value))
            callback(None, None)
        return len(served)

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        purged, self.queue = self.queue, []
        for _topic, _value, _key, callback in purged:
            callback(KafkaError(KafkaError._PURGE_QUEUE, "purged"), None)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        self.broker.probes.append(trio.current_time())
        if not self.broker.up:
            raise confluent_kafka.KafkaException(KafkaError(KafkaError._TRANSPORT, "refused"))
        return SimpleNamespace(topics={topic: SimpleNamespace(error=None)})

    def close(self) -> bool:
        self.closed = True
        return True


async def one_virtual_ms(fn: Callable[[], _T]) -> _T:
    await trio.sleep(0.001)
    return fn()


def make_publisher(broker: FakeBroker, **options: Any) -> TelemetryPublisher:
    return TelemetryPublisher(
        producer_factory=broker.factory, run_blocking=one_virtual_ms, **options
    )


# -- the message --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "state", "flag", "info"),
    [
        (Kind.STARTED, "Ready", "OK", "Heartbeat started."),
        (Kind.RESTARTED, "Ready", "OK", "Heartbeat re-started."),
        (Kind.WARNING, "Ready", "Warning", "Heartbeat stopped, node may be dead."),
        (Kind.DEAD, "Standby", "Alert", "Heartbeat stopped, node is dead."),
    ],
)
def test_message_is_upstreams_bytes(kind: Kind, state: str, flag: str, info: str) -> None:
    message = encode_message(transition("x1c0s0b0n0", kind, "a1"))
    assert (
        message
        == (
            '{"MessageID":"Heartbeat Change Notification","ID":"x1c0s0b0n0",'
            f'"NewState":"{state}","NewFlag":"{flag}","LastHBTimeStamp":"a1","Info":"{info}"}}'
        ).encode()
    )


def test_message_escapes_strings_as_go_does() -> None:
    message = encode_message(transition("x1c0s0b0n0", timestamp='<a&b>"é\u2028\ud800'))
    assert b'"LastHBTimeStamp":"\\u003ca\\u0026b\\u003e\\"\xc3\xa9\\u2028\xef\xbf\xbd"' in message
    assert json.loads(message)["LastHBTimeStamp"] == '<a&b>"é\u2028\ufffd'


# -- buffering and delivery ----------------------------------------------------------------


async def test_delivers_each_transition_once_in_order_keyed_by_component(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        publisher([transition("x1c0s0b0n0"), transition("x1c0s1b0n0")])
        publisher([transition("x1c0s0b0n0", Kind.WARNING)])
        await until(lambda: publisher.delivered == 3)
        health = publisher.health()
        nursery.cancel_scope.cancel()
    assert [(b, t, k) for b, t, k, _v in broker.log] == [
        ("127.0.0.1:9092", TOPIC, "x1c0s0b0n0"),
        ("127.0.0.1:9092", TOPIC, "x1c0s1b0n0"),
        ("127.0.0.1:9092", TOPIC, "x1c0s0b0n0"),
    ]
    assert json.loads(broker.log[2][3])["NewFlag"] == "Warning"
    assert health.status == CONNECTED == "Connected and OPEN"
    assert (health.queued, health.dropped, health.delivered) == (0, 0, 3)
    config = broker.producers[0].config
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["message.timeout.ms"] == 0  # the buffer decides what is dropped


async def test_the_listener_only_buffers(autojump_clock: trio.testing.MockClock) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker)
    publisher.configure(params())
    publisher(wave(20_000))  # no task running: nothing may wait on Kafka
    assert publisher.queued == 20_000
    assert broker.producers == []


async def test_at_most_window_messages_are_in_flight(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker, capacity=1000, window=100)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        await until(lambda: publisher.connected)
        broker.up = False  # the fake now keeps what it is given
        producer = broker.producers[0]
        producer.told_down = True  # ... and says nothing: a slow broker, not a lost one
        publisher(wave(500))
        await trio.sleep(1)
        assert len(producer.queue) == 100
        assert publisher.queued == 500
        broker.up = True
        await until(lambda: publisher.delivered == 500)
        nursery.cancel_scope.cancel()
    assert broker.ids() == [t.xname for t in wave(500)]


async def test_broker_down_at_start_holds_then_delivers_with_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broker = FakeBroker(up=False)
    publisher = make_publisher(broker, backoff=(0.25, 2.0))
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        await nursery.start(publisher.run)
        publisher(wave(30))
        await trio.sleep(6)
        health = publisher.health()
        assert health.status == NOT_CONNECTED == "Not Connected"
        assert health.queued == 30
        assert "refused" in health.last_error
        # Probes (each 1 ms of "blocking") after waits of 0.25, 0.5, 1, 2, 2 s.
        gaps = [round(b - a, 3) for a, b in zip(broker.probes, broker.probes[1:], strict=False)]
        assert gaps[:5] == [0.252, 0.502, 1.002, 2.002, 2.002]
        assert round(broker.probes[0] - start, 3) == 0.003  # make, poll, probe: 1 ms each
        broker.up = True
        await until(lambda: publisher.delivered == 30, within=2.5)
        nursery.cancel_scope.cancel()
    assert broker.ids() == [t.xname for t in wave(30)]
    assert publisher.health().queued == 0


async def test_broker_lost_mid_run_keeps_everything_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        publisher(wave(5))
        await until(lambda: publisher.delivered == 5)
        broker.up = False
        publisher(wave(5, start=5))  # handed over, then purged back when the loss is seen
        await until(lambda: not publisher.connected)
        publisher(wave(3, start=10))
        await trio.sleep(3)
        assert publisher.health().queued == 8
        broker.up = True
        await until(lambda: publisher.delivered == 13)
        nursery.cancel_scope.cancel()
    assert broker.ids() == [t.xname for t in wave(13)]  # no loss, no duplicate, in order


async def test_overflow_drops_the_oldest_and_logs_start_and_stop(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hbtd.telemetry")
    broker = FakeBroker(up=False)
    publisher = make_publisher(broker, capacity=10)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        for transition_ in wave(25):
            publisher([transition_])
        health = publisher.health()
        assert (health.queued, health.dropped) == (10, 15)
        broker.up = True
        await until(lambda: publisher.delivered == 10)
        nursery.cancel_scope.cancel()
    assert broker.ids() == [t.xname for t in wave(10, start=15)]
    drop_lines = [r.getMessage() for r in caplog.records if "telemetry buffer" in r.getMessage()]
    assert len(drop_lines) == 2
    assert drop_lines[0].startswith("telemetry buffer full (10 messages): dropping the oldest")
    assert drop_lines[1].startswith("telemetry buffer has room again: 15 messages dropped")


async def test_turning_telemetry_off_discards_the_backlog(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = FakeBroker(up=False)
    publisher = make_publisher(broker)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        publisher(wave(7))
        await trio.sleep(1)
        publisher.configure(params(on=False))
        health = publisher.health()
        assert (health.status, health.queued, health.discarded) == (NOT_CONNECTED, 0, 7)
        assert "discarded 7 held messages" in caplog.text
        publisher(wave(4, start=7))  # off: not buffered at all
        assert publisher.queued == 0
        broker.up = True
        publisher.configure(params())
        publisher(wave(2, start=11))
        await until(lambda: publisher.delivered == 2)
        nursery.cancel_scope.cancel()
    assert broker.ids() == [t.xname for t in wave(2, start=11)]  # no stale burst
    assert all(p.closed for p in broker.producers)


async def test_a_new_telemetry_host_reconnects_and_sends_what_is_held(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        publisher(wave(2))
        await until(lambda: publisher.delivered == 2)
        broker.up = False
        publisher(wave(3, start=2))
        await trio.sleep(1)
        publisher.configure(params(host="127.0.0.2:9093:other-topic"))
        broker.up = True
        await until(lambda: publisher.delivered == 5)
        detail = publisher.health().detail
        nursery.cancel_scope.cancel()
    assert [(b, t) for b, t, _k, _v in broker.log] == [("127.0.0.1:9092", TOPIC)] * 2 + [
        ("127.0.0.2:9093", "other-topic")
    ] * 3
    assert broker.producers[0].closed
    assert detail == "publishing to 127.0.0.2:9093, topic other-topic"


async def test_no_host_means_telemetry_off_and_nothing_held(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker)
    with caplog.at_level(logging.INFO, logger="hbtd.telemetry"):
        publisher.configure(params(host=""))
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        publisher(wave(3))
        await trio.sleep(5)
        health = publisher.health()
        assert (health.status, health.queued, health.last_error) == (NOT_CONNECTED, 0, "")
        assert health.detail == "telemetry off (Telemetry_host is not set)"
        assert broker.producers == []
        publisher.configure(params())  # a host given later turns it on
        publisher(wave(2, start=3))
        await until(lambda: publisher.delivered == 2)
        nursery.cancel_scope.cancel()
    [line] = [r for r in caplog.records if "telemetry off" in r.getMessage()]
    assert line.levelname == "INFO"
    assert "--telemetry_host host:port:topic" in line.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_invalid_host_holds_changes(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = FakeBroker()
    publisher = make_publisher(broker)
    # Neither the command line nor PATCH /params lets such a host in; Params itself does.
    publisher.configure(dataclasses.replace(params(), telemetry_host="kafka:notaport:topic"))
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        publisher(wave(3))
        await trio.sleep(5)
        health = publisher.health()
        assert (health.status, health.queued) == (NOT_CONNECTED, 3)
        assert "telemetry host is not set or is invalid: 'kafka:notaport:topic'" in (
            health.last_error
        )
        assert broker.producers == []
        publisher.configure(params())
        await until(lambda: publisher.delivered == 3)
        nursery.cancel_scope.cancel()
    assert "telemetry host is not set or is invalid" in caplog.text


async def test_a_failed_delivery_replaces_the_producer_and_resends_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broker = FakeBroker(fail_next_delivery=True)
    publisher = make_publisher(broker)
    publisher.configure(params())
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        await until(lambda: publisher.connected)
        publisher(wave(4))
        await until(lambda: publisher.delivered == 4)
        nursery.cancel_scope.cancel()
    ids = [t.xname for t in wave(4)]
    assert broker.ids() == ids[1:] + ids[:1]  # the refused message is sent again
    assert len(broker.producers) == 2
    assert "not enough" in publisher.health().last_error


async def test_run_telemetry_follows_params_and_health_finds_the_publisher(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = Engine(params(on=False))
    assert msgbus_health(None).status == NOT_CONNECTED
    broker = FakeBroker()
    publisher = make_publisher(broker)
    engine.listeners.append(publisher)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_telemetry, engine, publisher)
        assert msgbus_health(publisher).detail == "telemetry off (Use_telemetry is 0)"
        engine.set_params(params())
        await until(lambda: msgbus_health(publisher).status == CONNECTED)
        nursery.cancel_scope.cancel()


def test_capacity_must_leave_room_to_drop() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        TelemetryPublisher(capacity=1)
    assert TelemetryPublisher(capacity=10, window=100).window == 5

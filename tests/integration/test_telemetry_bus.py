"""The telemetry publisher with confluent-kafka against a real Kafka-protocol broker (issue 6).

The broker is librdkafka's mock cluster on loopback (``kafka_mock``); the publisher runs in
this process on real time, so these tests wait on conditions with deadlines, never on sleeps.
"""

from __future__ import annotations

import pytest
import trio

from hbtd_server.core import DEFAULT_PARAMS, Kind, Params, Transition
from hbtd_server.notify import CONNECTED, NOT_CONNECTED, TelemetryPublisher
from tests.polling import until

from .kafka_mock import TOPIC, MockKafkaCluster, read_topic, read_until

pytestmark = pytest.mark.integration

KINDS = [Kind.STARTED, Kind.WARNING, Kind.RESTARTED, Kind.WARNING, Kind.DEAD]


def telemetry_params(cluster: MockKafkaCluster, topic: str = TOPIC) -> Params:
    return DEFAULT_PARAMS.patched(
        {"Use_telemetry": "1", "Telemetry_host": cluster.telemetry_host(topic)}
    )


def wave(components: int, round_: int) -> list[Transition]:
    """Every component changes once; the sender stamp is the round number."""
    kind = KINDS[round_ % len(KINDS)]
    return [
        Transition(f"x{1000 + c}c0s0b0n0", kind, 0.0, 0.0, f"{round_:04d}", "OK")
        for c in range(components)
    ]


async def test_broker_lost_mid_stream_loses_nothing_and_keeps_order(
    kafka: MockKafkaCluster,
) -> None:
    components = 100
    kafka.set_rtt(50)  # acks come 50 ms late: a steady stream always has messages in flight
    publisher = TelemetryPublisher()
    publisher.configure(telemetry_params(kafka))
    lost = trio.Event()
    rounds = 0

    async def stream(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # A wave every 10 ms until 20 waves after the outage was noticed (at most 10 s).
        nonlocal rounds
        task_status.started()
        after_loss = 0
        while after_loss < 20 and rounds < 1000:
            publisher(wave(components, rounds))
            rounds += 1
            after_loss += lost.is_set()
            await trio.sleep(0.01)

    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        await until(lambda: publisher.connected, within=10)
        async with trio.open_nursery() as streaming:
            await streaming.start(stream)
            await until(lambda: publisher.delivered > 0, within=10)
            kafka.set_down()  # in the middle of the stream, with messages in flight
            await until(lambda: not publisher.connected, within=10)
            lost.set()
        assert publisher.health().status == NOT_CONNECTED
        assert publisher.queued >= 20 * components
        kafka.set_rtt(0)
        kafka.set_up()
        total = components * rounds
        await until(lambda: publisher.delivered == total, within=20)
        health = publisher.health()
        nursery.cancel_scope.cancel()
    assert health.status == CONNECTED
    assert (health.queued, health.dropped) == (0, 0)
    with read_topic(kafka.bootstrap, TOPIC) as reader:
        await read_until(reader, lambda r: len(r.messages) >= total, within=20)
        await trio.to_thread.run_sync(reader.poll, 0.5)  # anything extra would show up now
    stamps: dict[str, list[str]] = {}
    for key, document, _raw in reader.messages:
        assert document["ID"] == key
        stamps.setdefault(key, []).append(document["LastHBTimeStamp"])
    expected = [f"{r:04d}" for r in range(rounds)]
    assert set(stamps) == {f"x{1000 + c}c0s0b0n0" for c in range(components)}
    for key, seen in stamps.items():
        # librdkafka resends the batches whose acknowledgement the outage cut off, with the
        # same producer id and sequence numbers. A Kafka broker drops such a resend (KIP-98);
        # the mock broker appends it again. So: first copies complete and in order, and any
        # extra copy is one such resend (a repeat of messages already there).
        assert list(dict.fromkeys(seen)) == expected, key
    assert len(reader.messages) - total <= publisher.window  # at most what was in flight


async def test_a_new_telemetry_host_moves_to_the_new_broker_and_topic(
    kafka: MockKafkaCluster,
) -> None:
    first, second = wave(50, 0), wave(50, 1)
    publisher = TelemetryPublisher()
    publisher.configure(telemetry_params(kafka))
    with MockKafkaCluster() as other:
        other.create_topic("other-topic")
        async with trio.open_nursery() as nursery:
            await nursery.start(publisher.run)
            publisher(first)
            await until(lambda: publisher.delivered == 50, within=10)
            publisher.configure(telemetry_params(other, "other-topic"))
            publisher(second)
            await until(lambda: publisher.delivered == 100, within=10)
            detail = publisher.health().detail
            nursery.cancel_scope.cancel()
        assert detail == f"publishing to {other.bootstrap}, topic other-topic"
        with read_topic(other.bootstrap, "other-topic") as reader:
            await read_until(reader, lambda r: len(r.messages) >= 50, within=10)
        assert {doc["Info"] for _k, doc, _raw in reader.messages} == {
            "Heartbeat stopped, node may be dead."
        }
    with read_topic(kafka.bootstrap, TOPIC) as reader:
        await read_until(reader, lambda r: len(r.messages) >= 50, within=10)
        await trio.to_thread.run_sync(reader.poll, 0.3)
    assert len(reader.messages) == 50

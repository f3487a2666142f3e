"""Issue 6: the real ``hbtd`` process publishing on a real Kafka-protocol broker.

The broker is librdkafka's mock cluster, run in this test process on loopback
(``kafka_mock``); the tracker reaches it over TCP like any broker, and a consumer in the test
reads what it published. Conditions are polled with deadlines; nothing sleeps and hopes.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
import trio

from hb_sim.fleet import LiveFleet

from .conftest import HbtdProcess, StartHbtd, nodes
from .fleet_watch import FleetWatch, inconclusive_if_late
from .kafka_mock import TOPIC, MockKafkaCluster, TopicReader, read_topic, read_until

pytestmark = pytest.mark.integration

STARTED = "Heartbeat started."
RESTARTED = "Heartbeat re-started."
WARNING = "Heartbeat stopped, node may be dead."
DEAD = "Heartbeat stopped, node is dead."
STATE_AND_FLAG = {
    STARTED: ("Ready", "OK"),
    RESTARTED: ("Ready", "OK"),
    WARNING: ("Ready", "Warning"),
    DEAD: ("Standby", "Alert"),
}
QUIET = ("--nosm", "--warntime", "60", "--errtime", "120")  # only "started" while a test runs


def infos(reader: TopicReader, info: str) -> int:
    return sum(1 for _key, document, _raw in reader.messages if document["Info"] == info)


async def beat(client: httpx.AsyncClient, xnames: list[str]) -> None:
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    for xname in xnames:
        response = await client.post(
            f"/heartbeat/{xname}", json={"Status": "OK", "TimeStamp": stamp}
        )
        assert response.status_code == 200


async def bus(client: httpx.AsyncClient) -> dict[str, object]:
    health = (await client.get("/health")).json()
    return {k: v for k, v in health.items() if k.startswith("MsgBus")}


async def health_shows(
    client: httpx.AsyncClient, check: Callable[[dict[str, object]], bool], *, within: float = 10
) -> dict[str, object]:
    with trio.fail_after(within):
        while True:
            members = await bus(client)
            if check(members):
                return members
            await trio.sleep(0.05)


def tracker_client(hbtd: HbtdProcess) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=hbtd.url, timeout=5.0)


async def test_thousand_components_every_change_in_order(
    start_hbtd: StartHbtd, kafka: MockKafkaCluster
) -> None:
    """Acceptance 1: started, warning, restarted, warning, dead, started for 1,000 nodes.

    A few steady nodes beat throughout, so the silence guard (which holds alerts when *no*
    node beats) sees a partial failure and reports every death at once.
    """
    names = nodes(1000)
    steady = [f"x3000c0s{i}b0n0" for i in range(8)]
    # On a loaded machine the fleet can fall behind: then a failure is inconclusive (#15).
    watch = FleetWatch(tolerance=0.5)
    with inconclusive_if_late(watch):
        async with (
            start_hbtd(
                "--nosm",
                "--warntime",
                "2",
                "--errtime",
                "4",
                "--use_telemetry",
                "1",
                "--telemetry_host",
                kafka.telemetry_host(TOPIC),
            ) as hbtd,
            tracker_client(hbtd) as client,
            trio.open_nursery() as nursery,
        ):
            with read_topic(kafka.bootstrap, TOPIC) as reader:
                fleet = LiveFleet(
                    targets=[f"http://127.0.0.1:{hbtd.port}"],
                    xnames=names + steady,
                    interval=1.0,
                )
                await nursery.start(fleet.run)
                watch.follow(fleet)
                await nursery.start(watch.run)
                await read_until(reader, lambda r: infos(r, STARTED) == 1008, within=15)
                fleet.silence(names)
                # Every node warns within Warntime + one period of the silence, and none is dead
                # before Errtime - one period: resuming as soon as all warned leaves ~0.8 s.
                await read_until(reader, lambda r: infos(r, WARNING) == 1000, within=10)
                fleet.resume(names)
                await read_until(reader, lambda r: infos(r, RESTARTED) == 1000, within=10)
                fleet.silence(names)
                await read_until(reader, lambda r: infos(r, DEAD) == 1000, within=15)
                fleet.resume(names)
                await read_until(reader, lambda r: infos(r, STARTED) == 2008, within=10)
                await trio.to_thread.run_sync(reader.poll, 0.3)  # nothing extra may follow
                health = await bus(client)
                nursery.cancel_scope.cancel()
            assert await hbtd.terminate() == 0
        assert not fleet.rejected
        expected = [STARTED, WARNING, RESTARTED, WARNING, DEAD, STARTED]
        assert reader.by_component() == {name: expected for name in names} | {
            name: [STARTED] for name in steady
        }
        for key, document, raw in reader.messages:
            assert list(document) == [
                "MessageID",
                "ID",
                "NewState",
                "NewFlag",
                "LastHBTimeStamp",
                "Info",
            ]
            assert raw == json.dumps(document, separators=(",", ":")).encode()  # compact
            assert document["MessageID"] == "Heartbeat Change Notification"
            assert document["ID"] == key
            assert (document["NewState"], document["NewFlag"]) == STATE_AND_FLAG[document["Info"]]
            assert document["LastHBTimeStamp"].startswith("20")  # the sender's TimeStamp
        assert health["MsgBus"] == "Connected and OPEN"
        assert (health["MsgBusQueued"], health["MsgBusDropped"]) == (0, 0)
        assert health["MsgBusDelivered"] == 6008


async def test_broker_down_at_start_then_lost_mid_run_with_overflow(
    start_hbtd: StartHbtd, kafka: MockKafkaCluster
) -> None:
    """Acceptance 2: nothing is lost while the buffer holds; overflow is counted in /health."""
    first, second = nodes(30), nodes(80, first=30)
    kafka.set_down()
    async with (
        start_hbtd(
            *QUIET, "--telemetry_buffer", "50", "--telemetry_host", kafka.telemetry_host(TOPIC)
        ) as hbtd,
        tracker_client(hbtd) as client,
    ):
        await beat(client, first)
        # The client reports the refused connection a little after the changes are queued.
        members = await health_shows(
            client, lambda m: m["MsgBusQueued"] == 30 and bool(m["MsgBusLastError"])
        )
        assert members["MsgBus"] == "Not Connected"
        kafka.set_up()
        with read_topic(kafka.bootstrap, TOPIC) as reader:
            await read_until(reader, lambda r: len(r.messages) >= 30, within=10)
            await health_shows(client, lambda m: m["MsgBus"] == "Connected and OPEN")
            kafka.set_down()
            await health_shows(client, lambda m: m["MsgBus"] == "Not Connected")
            await beat(client, second)
            members = await bus(client)
            assert (members["MsgBusQueued"], members["MsgBusDropped"]) == (50, 30)
            kafka.set_up()
            await read_until(reader, lambda r: len(r.messages) >= 80, within=10)
            members = await health_shows(client, lambda m: m["MsgBusQueued"] == 0)
            await trio.to_thread.run_sync(reader.poll, 0.3)
        log = hbtd.log()
    assert members["MsgBus"] == "Connected and OPEN"
    assert (members["MsgBusDropped"], members["MsgBusDelivered"]) == (30, 80)
    # The oldest 30 of the second batch were dropped; the rest arrived once each.
    assert Counter(key for key, _doc, _raw in reader.messages) == Counter(first + second[30:])
    assert "telemetry bus unreachable" in log
    assert log.count("telemetry buffer full (50 messages): dropping the oldest") == 1
    assert log.count("telemetry buffer has room again: 30 messages dropped") == 1


async def test_switched_off_and_on_and_moved_by_patch(
    start_hbtd: StartHbtd, kafka: MockKafkaCluster
) -> None:
    names = nodes(45)
    other = MockKafkaCluster()
    async with (
        start_hbtd(*QUIET, "--telemetry_host", kafka.telemetry_host(TOPIC)) as hbtd,
        tracker_client(hbtd) as client,
    ):
        with read_topic(kafka.bootstrap, TOPIC) as reader:
            await beat(client, names[:5])
            await read_until(reader, lambda r: len(r.messages) >= 5, within=10)
            kafka.set_down()
            await health_shows(client, lambda m: m["MsgBus"] == "Not Connected")
            await beat(client, names[5:25])
            assert (await bus(client))["MsgBusQueued"] == 20
            # Off: what is held is discarded and counted, and nothing more is buffered.
            response = await client.patch("/params", json={"Use_telemetry": "0"})
            assert response.status_code == 200
            members = await bus(client)
            assert (members["MsgBus"], members["MsgBusQueued"]) == ("Not Connected", 0)
            assert members["MsgBusDiscarded"] == 20
            await beat(client, names[25:30])
            assert (await bus(client))["MsgBusQueued"] == 0
            # An invalid host is refused with upstream's message, and changes nothing.
            response = await client.patch("/params", json={"Telemetry_host": "nonsense"})
            assert response.status_code == 400
            assert response.json()["detail"] == (
                "Parameter 'telemetry_host' with invalid format 'nonsense'; "
            )
            params = (await client.get("/params")).json()
            assert params["Telemetry_host"] == kafka.telemetry_host(TOPIC)
            # On again: only new changes are sent, no stale burst.
            kafka.set_up()
            response = await client.patch("/params", json={"Use_telemetry": "1"})
            assert response.status_code == 200
            await beat(client, names[30:35])
            await read_until(reader, lambda r: len(r.messages) >= 10, within=10)
            await trio.to_thread.run_sync(reader.poll, 0.3)
        keys = sorted(key for key, _doc, _raw in reader.messages)
        assert keys == sorted(names[:5] + names[30:35])
        # A new Telemetry_host: the tracker moves to the other broker and topic.
        other.create_topic("other-topic")
        response = await client.patch(
            "/params", json={"Telemetry_host": other.telemetry_host("other-topic")}
        )
        assert response.status_code == 200
        await beat(client, names[35:45])
        with read_topic(other.bootstrap, "other-topic") as moved:
            await read_until(moved, lambda r: len(r.messages) >= 10, within=10)
        members = await health_shows(client, lambda m: m["MsgBusQueued"] == 0)
        log = hbtd.log()
        assert await hbtd.terminate() == 0  # before its broker goes away
    other.close()
    assert sorted(key for key, _doc, _raw in moved.messages) == sorted(names[35:45])
    assert members["MsgBusDetail"] == f"publishing to {other.bootstrap}, topic other-topic"
    assert "telemetry off: discarded 20 held messages, none will be sent" in log
    assert "telemetry bus changed to" in log

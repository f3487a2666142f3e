"""Issue 7 acceptance: real etcd-server, real ``hbtd`` processes, the mock HSM, a live fleet.

* kill -9 of the tracker while 1,000 nodes beat and HSM is down, the tracker away for longer
  than Errtime, then a restart: HSM ends at the truth, nothing lost, no false warning;
* three replicas, the leader killed: changes still arrive, late by at most the lease TTL; a
  PATCH /params on one replica is seen on the others;
* etcd stopped under load: no heartbeat refused, readiness 503 then 204, records catch up.
"""

from __future__ import annotations

import base64
import json
import signal
import time
from collections import defaultdict
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.fleet import LiveFleet
from hb_sim.hsm import Faults, MockHsm, serve_mock_hsm
from hb_sim.ports import free_port
from tests.etcd_support import EtcdServer
from tests.polling import until

from .conftest import HbtdProcess, launch_hbtd, nodes
from .fleet_watch import FleetWatch, inconclusive_if_late, inconclusive_if_slow_machine

pytestmark = pytest.mark.integration

WARNING = ("Ready", "Warning", "Heartbeat stopped -- might be dead")
DEAD = ("Standby", "Alert", "Heartbeat stopped -- declared dead")
STARTED = ("Ready", "OK", "Heartbeat started")


def fleet_of(ports: list[int], xnames: list[str]) -> LiveFleet:
    """Nodes beating every second to one or more trackers; a tracker away is failed over."""
    targets = [f"http://127.0.0.1:{port}" for port in ports]
    return LiveFleet(targets=targets, xnames=xnames, interval=1.0, connections=20)


def hbtd(tmp_path: Path, port: int, *args: str) -> AbstractAsyncContextManager[HbtdProcess]:
    """A real ``hbtd`` on a given port (a restart reuses its port); killed at the end."""
    return launch_hbtd(tmp_path, port, *args)


def changes(history: list[tuple[float, tuple[str, str, str]]]) -> list[tuple[str, str, str]]:
    """The states HSM was asked for, a repeat of the same state counted once.

    After a leader dies, the next one resends every state whose acknowledgement was not yet
    written to etcd (at most one flush window): HSM then gets a state it already shows, which
    changes nothing there. What must never happen is a different state (a false warning).
    """
    out: list[tuple[str, str, str]] = []
    for _, kind in history:
        if not out or out[-1] != kind:
            out.append(kind)
    return out


def tracker_args(etcd: EtcdServer, hsm_base: str, *extra: str) -> list[str]:
    return [
        "--kv_url",
        etcd.url,
        "--sm_url",
        f"{hsm_base}/hsm/v2",
        "--warntime",
        "3",
        "--errtime",
        "6",
        "--interval",
        "1",
        "--guard_share",
        "0",
        "--lease_ttl",
        "2",
        *extra,
    ]


def accepted(hsm: MockHsm) -> dict[str, list[tuple[float, tuple[str, str, str]]]]:
    seen: dict[str, list[tuple[float, tuple[str, str, str]]]] = defaultdict(list)
    for request in hsm.requests():
        if request.method == "PATCH" and request.status == 204:
            body = request.body
            kind = (body["State"], body["Flag"], body["ExtendedInfo"]["Message"])
            for xname in body["ComponentIDs"]:
                seen[xname].append((request.time, kind))
    return seen


async def stored_records(
    etcd: EtcdServer, prefix: str = "hbtd/hb/"
) -> dict[str, dict[str, object]]:
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(
            f"{etcd.url}/v3/kv/range",
            json={
                "key": base64.b64encode(prefix.encode()).decode(),
                "range_end": base64.b64encode(end.encode()).decode(),
            },
        )
    found = {}
    for kv in answer.json().get("kvs", []):
        key = base64.b64decode(kv["key"]).decode()[len(prefix) :]
        found[key] = json.loads(base64.b64decode(kv["value"]))
    return found


def final_states(hsm: MockHsm, xnames: Iterable[str]) -> set[tuple[str, str]]:
    return {(hsm.component(x).state, hsm.component(x).flag) for x in xnames}


async def test_kill_9_and_a_long_stop_lose_nothing_and_raise_no_false_alarm(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    # On a loaded machine the fleet can fall behind: then a failure is inconclusive (#15).
    watch = FleetWatch(tolerance=0.5)
    with inconclusive_if_late(watch):
        names = nodes(1000)
        dying, steady = names[:100], names[100:]
        hsm = MockHsm(nodes=names)
        port = free_port()
        async with trio.open_nursery() as nursery:
            [hsm_base] = await nursery.start(
                partial(serve_mock_hsm, hsm, port=0, clock=trio.current_time)
            )
            args = tracker_args(etcd_server, hsm_base)
            fleet = fleet_of([port], names)
            async with hbtd(tmp_path, port, *args) as first:
                await nursery.start(fleet.run)
                watch.follow(fleet)
                await nursery.start(watch.run)
                await until(lambda: len(accepted(hsm)) == 1000, within=10)  # all started
                hsm.set_faults(Faults(mode="down"))
                fleet.silence(dying)
                await trio.sleep(6 + 1.5)  # the dying are declared dead; HSM cannot be told
                first.process.send_signal(signal.SIGKILL)
                await first.process.wait()
            killed = trio.current_time()
            await trio.sleep(6 + 2)  # no tracker at all for longer than Errtime
            async with hbtd(tmp_path, port, *args) as second:
                restarted = trio.current_time()
                await trio.sleep(3)
                hsm.set_faults(Faults())
                await until(lambda: final_states(hsm, dying) == {("Standby", "Alert")}, within=10)
                await trio.sleep(3 + 1)  # a false warning would have come by now
                assert await second.terminate() == 0
            nursery.cancel_scope.cancel()
        assert restarted - killed >= 6
        seen = accepted(hsm)
        for xname in steady:
            assert changes(seen[xname]) == [STARTED], (xname, fleet.gaps())
        assert final_states(hsm, steady) == {("Ready", "OK")}
        for xname in dying:
            assert seen[xname][-1][1] == DEAD, xname
        # Refused connections while no tracker ran, nothing else.
        assert fleet.answers.keys() == {200}


async def test_replicas_share_detection_and_parameters(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    # On a loaded machine the fleet can fall behind: then a failure is inconclusive (#15).
    watch = FleetWatch(tolerance=0.5)
    with inconclusive_if_late(watch):
        names = nodes(300)
        stop_after_kill = names[:20]
        hsm = MockHsm(nodes=names)
        ports = [free_port() for _ in range(3)]
        async with trio.open_nursery() as nursery:
            [hsm_base] = await nursery.start(
                partial(serve_mock_hsm, hsm, port=0, clock=trio.current_time)
            )
            args = tracker_args(etcd_server, hsm_base)
            async with (
                hbtd(tmp_path, ports[0], *args) as r0,
                hbtd(tmp_path, ports[1], *args) as r1,
                hbtd(tmp_path, ports[2], *args) as r2,
            ):
                replicas = [r0, r1, r2]
                fleet = fleet_of(ports, names)
                await nursery.start(fleet.run)
                watch.follow(fleet)
                await nursery.start(watch.run)
                await until(lambda: len(accepted(hsm)) == 300, within=10)
                async with httpx.AsyncClient(timeout=5) as client:
                    roles = {}
                    for replica in replicas:
                        health = (await client.get(f"{replica.url}/health")).json()
                        roles[replica.port] = health["KvRole"]
                        states = await client.post(
                            f"{replica.url}/hbstates", json={"XNames": names}
                        )
                        assert all(s["Heartbeating"] for s in states.json()["HBStates"])
                    assert sorted(roles.values()) == ["follower", "follower", "leader"]
                    leader = next(r for r in replicas if roles[r.port] == "leader")
                    follower = next(r for r in replicas if roles[r.port] == "follower")
                    # PATCH /params on a follower reaches every replica.
                    patched = await client.patch(f"{follower.url}/params", json={"Sm_retries": "5"})
                    assert patched.status_code == 200

                    async def everyone_has_it() -> bool:
                        got = [(await client.get(f"{r.url}/params")).json() for r in replicas]
                        return all(p["Sm_retries"] == "5" for p in got)

                    with trio.fail_after(5):
                        while not await everyone_has_it():  # noqa: ASYNC110
                            await trio.sleep(0.1)
                leader.process.send_signal(signal.SIGKILL)
                await leader.process.wait()
                killed = trio.current_time()
                fleet.silence(stop_after_kill)
                await until(
                    lambda: final_states(hsm, stop_after_kill) == {("Standby", "Alert")}, within=15
                )
            nursery.cancel_scope.cancel()
        seen = accepted(hsm)
        lease_ttl, warntime, errtime = 2.0, 3.0, 6.0
        for xname in stop_after_kill:
            assert changes(seen[xname]) == [STARTED, WARNING, DEAD], xname
            warned = next(t for t, kind in seen[xname] if kind == WARNING)
            dead = next(t for t, kind in seen[xname] if kind == DEAD)
            assert warned - killed <= lease_ttl + warntime + 1.0, xname
            assert dead - killed <= lease_ttl + errtime + 1.0, xname
        for xname in names[20:]:
            assert changes(seen[xname]) == [STARTED], (xname, fleet.gaps())


async def test_an_etcd_outage_under_load_refuses_nothing(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    # On a loaded machine the fleet can fall behind: then a failure is inconclusive (#15).
    watch = FleetWatch(tolerance=0.5)
    with inconclusive_if_late(watch):
        names = nodes(500)
        hsm = MockHsm(nodes=names)
        port = free_port()
        outage = 30.0  # as the issue says; the flusher's backoff tops out at 5 s
        async with trio.open_nursery() as nursery:
            [hsm_base] = await nursery.start(
                partial(serve_mock_hsm, hsm, port=0, clock=trio.current_time)
            )
            async with hbtd(tmp_path, port, *tracker_args(etcd_server, hsm_base)) as tracker:
                fleet = fleet_of([port], names)
                await nursery.start(fleet.run)
                watch.follow(fleet)
                await nursery.start(watch.run)
                async with httpx.AsyncClient(timeout=5) as client:

                    async def readiness() -> int:
                        return (await client.get(f"{tracker.url}/readiness")).status_code

                    await trio.sleep(2)
                    assert await readiness() == 204
                    etcd_server.stop()
                    stopped = trio.current_time()
                    with trio.fail_after(5):
                        while await readiness() != 503:  # noqa: ASYNC110
                            await trio.sleep(0.1)
                    health = (await client.get(f"{tracker.url}/health")).json()
                    assert health["KvStore"].startswith("Error accessing key values:")
                    await trio.sleep_until(stopped + outage)
                    etcd_server.launch()
                    await etcd_server.wait_ready()
                    back = trio.current_time()
                    with trio.fail_after(10):
                        while await readiness() != 204:  # noqa: ASYNC110
                            await trio.sleep(0.1)
                    health = (await client.get(f"{tracker.url}/health")).json()
                    assert health["KvStore"] == "Initialization key present: HBTD_OK"
                    # The records catch up: every one written after etcd came back.
                    with trio.fail_after(10):
                        while True:
                            records = await stored_records(etcd_server)
                            wall_back = trio.current_time() - back
                            fresh = [
                                r
                                for r in records.values()
                                if float(str(r["Last_hb_rcv_time"]))
                                >= time.time() - wall_back - 1.5
                            ]
                            if len(records) == 500 and len(fresh) == 500:
                                break
                            await trio.sleep(0.2)
                unreachable = fleet.unreachable  # before the tracker stops
                assert await tracker.terminate() == 0
            nursery.cancel_scope.cancel()
        assert fleet.answers.keys() == {200}
        assert unreachable == 0
        seen = accepted(hsm)
        # Only "started", ever. It may come twice: an acknowledgement HSM gave just before etcd
        # went away could not be written, so the next leader resends it (same state, harmless).
        wrong = {x: seen[x] for x in names if {k for _, k in seen[x]} != {STARTED}}
        assert not wrong, list(wrong.items())[:2]


async def test_workers_share_one_port_and_one_truth(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    names = nodes(50)
    port = free_port()
    args = ["--kv_url", etcd_server.url, "--nosm", "--workers", "2", "--lease_ttl", "2"]
    async with hbtd(tmp_path, port, *args) as tracker:
        roles: set[str] = set()
        for xname in names:  # a new connection each: the kernel spreads them over the workers
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.post(
                    f"{tracker.url}/heartbeat/{xname}",
                    json={"Status": "OK", "TimeStamp": "2026-11-25T10:00:00Z"},
                )
                assert answer.status_code == 200, answer.text
                roles.add((await client.get(f"{tracker.url}/health")).json()["KvRole"])
        assert roles == {"leader", "follower"}

        async def every_worker_knows_all() -> bool:
            for _ in range(10):
                async with httpx.AsyncClient(timeout=5) as client:
                    answer = await client.post(f"{tracker.url}/hbstates", json={"XNames": names})
                    if not all(s["Heartbeating"] for s in answer.json()["HBStates"]):
                        return False
            return True

        with trio.fail_after(5):
            while not await every_worker_knows_all():  # noqa: ASYNC110
                await trio.sleep(0.1)
        assert await tracker.terminate() == 0


async def test_workers_do_not_outlive_a_killed_parent(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    port = free_port()
    args = ["--kv_url", etcd_server.url, "--nosm", "--workers", "2", "--lease_ttl", "2"]
    # #15: three processes to start; on a machine too busy for that, the test is inconclusive.
    with inconclusive_if_slow_machine():
        async with hbtd(tmp_path, port, *args) as tracker:
            tracker.process.send_signal(signal.SIGKILL)
            await tracker.process.wait()
            async with httpx.AsyncClient(timeout=1) as client:
                with trio.fail_after(10):
                    while True:
                        try:
                            await client.get(f"{tracker.url}/liveness")
                        except httpx.TransportError:
                            break  # nothing listens any more: both workers are gone
                        await trio.sleep(0.1)
        assert "the parent process is gone" in tracker.log()


async def test_one_replica_keeps_detecting_through_an_etcd_outage(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    """#13: a node that dies while etcd is away reaches HSM within 2 s of etcd's return.

    Before, with etcd away for longer than about 2/3 of the lease no replica led, detection
    stopped, and such a death reached HSM Warntime (or Errtime) after recovery. The issue's
    outage is 40 s; 12 s shows the same property at a third of the wall time: it outlasts the
    lease (2 s) six times, so the replica has surely lost the lead, and it outlasts the
    victim's Warntime + Errtime (3 + 6 s), so the whole death happens while etcd is away.
    Nothing reaches HSM meanwhile (a replica that does not lead never sends).
    """
    names = nodes(50)
    victim = names[0]
    hsm = MockHsm(nodes=names)
    port = free_port()
    outage = 12.0
    async with trio.open_nursery() as nursery:
        [hsm_base] = await nursery.start(
            partial(serve_mock_hsm, hsm, port=0, clock=trio.current_time)
        )
        async with hbtd(tmp_path, port, *tracker_args(etcd_server, hsm_base)) as tracker:
            fleet = fleet_of([port], names)
            await nursery.start(fleet.run)
            async with httpx.AsyncClient(timeout=5) as client:

                async def health() -> dict[str, object]:
                    return dict((await client.get(f"{tracker.url}/health")).json())

                await until(lambda: final_states(hsm, names) == {("Ready", "OK")}, within=10)
                etcd_server.stop()
                stopped = trio.current_time()
                await trio.sleep(1)
                fleet.silence([victim])
                await trio.sleep_until(stopped + outage)
                assert (await health())["KvRole"] == "detached"
                assert hsm.component(victim).state == "Ready"  # held, not sent
                etcd_server.launch()
                await etcd_server.wait_ready()
                back = trio.current_time()
                await until(lambda: hsm.component(victim).state == "Standby", within=10)
                delivered = trio.current_time()
                assert (await health())["KvRole"] == "leader"
            assert await tracker.terminate() == 0
        nursery.cancel_scope.cancel()
    assert delivered - back <= 2.0, delivered - back
    others = set(names) - {victim}
    assert final_states(hsm, others) == {("Ready", "OK")}  # no false alarm
    assert (hsm.component(victim).state, hsm.component(victim).flag) == ("Standby", "Alert")

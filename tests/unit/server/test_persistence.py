"""Write-behind, outages, restarts and replicas on virtual time, with the memory store (#7).

``EtcdStore`` keeps the same contract (test_store_contract.py), so what holds here for the
memory store holds for etcd; tests/integration/test_store_process.py checks it end to end.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence

import pytest
import trio
import trio.testing

from hbtd_server import Engine
from hbtd_server.core import (
    DEFAULT_PARAMS,
    ComponentView,
    HbState,
    Kind,
    Params,
    Transition,
)
from hbtd_server.engine import Duty
from hbtd_server.health import KV_OK
from hbtd_server.service import run_detector
from hbtd_server.store import (
    MAX_BACKOFF,
    MemoryBackend,
    MemoryStore,
    Persistence,
    SharedState,
    encode_hsm,
    encode_record,
)
from hbtd_server.store._replica_state import ReplicaState
from tests.unit.server.engine_support import beat

EPOCH = 1_764_000_000.0
NAMES = [f"x1000c{c}s{s}b0n{n}" for c in range(8) for s in range(8) for n in range(16)]  # 1024


def wall() -> float:
    return EPOCH + trio.current_time()


def params(**changes: str) -> Params:
    base = {"Warntime": "10", "Errtime": "30", "Guard_share": "0"}
    return DEFAULT_PARAMS.patched(base | changes)


def stored(backend: MemoryBackend, key: str) -> dict[str, object] | None:
    value = backend.data.get(key)
    return None if value is None else dict(json.loads(value))


def record_value(xname: str, *, received: float, state: HbState = HbState.ALIVE) -> bytes:
    view = ComponentView(xname, state, 0.0, "ts", "OK")
    return encode_record(view, received=received, replica="old")


async def start_persistence(
    nursery: trio.Nursery, engine: Engine, backend: MemoryBackend
) -> Persistence:
    persistence = Persistence(engine, MemoryStore(backend, prefix="hbtd/"), wall=wall)
    await persistence.start()
    await nursery.start(persistence.run_flusher)
    return persistence


async def test_heartbeats_are_written_behind_in_batches_of_128(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    engine = Engine(params())
    async with trio.open_nursery() as nursery:
        persistence = await start_persistence(nursery, engine, backend)
        start_txns = backend.transactions
        for _ in range(20):  # every node beats 20 times in one flush window
            beat(engine, *NAMES)
        assert backend.transactions == start_txns  # nothing waited on the store
        await trio.sleep(persistence.flush_period + 0.01)
        # 1,024 records and 1,024 "started" wanted by HSM: 2,048 operations in
        # 2,048 / 128 = 16 transactions; 20 heartbeats per node coalesced to the latest.
        txns = math.ceil(2 * len(NAMES) / 128)
        assert backend.transactions - start_txns == txns
        assert stored(backend, f"hbtd/hsm/{NAMES[5]}") == {"Wanted": "started", "Acked": None}
        record = stored(backend, f"hbtd/hb/{NAMES[5]}")
        assert record is not None
        assert record["Last_hb_rcv_time"] == EPOCH
        assert record["State"] == "alive"
        assert json.loads(backend.data["hbtd/params"])["Warntime"] == "10"
        assert backend.data["hbtd/HBTD_HEALTH_KEY"] == b"HBTD_OK"
        await trio.sleep(5)
        assert backend.transactions - start_txns == txns  # idle: nothing more written
        nursery.cancel_scope.cancel()


async def test_an_outage_holds_the_latest_state_and_flushes_it_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    engine = Engine(params())
    flushes: list[bool] = []  # each flush's outcome, as the metrics hear it
    engine.store_health.flush_listeners.append(lambda seconds, ok: flushes.append(ok))
    async with trio.open_nursery() as nursery:
        persistence = await start_persistence(nursery, engine, backend)
        beat(engine, *NAMES[:10])
        await trio.sleep(1)
        assert flushes == [True]
        backend.switch(down=True)
        down_at = trio.current_time()
        for _ in range(100):  # 100 s of heartbeats from 10 nodes while the store is away
            await trio.sleep(1)
            beat(engine, *NAMES[:10])
            assert persistence.pending() <= 10  # bounded: one entry per component
        assert not engine.store_health.ready
        assert engine.store_health.kv_status.startswith("Error accessing key values:")
        assert "switched off" in engine.store_health.kv_status
        assert engine.store_health.unflushed == 10
        assert len(flushes) > 1
        assert not any(flushes[1:])  # every flush since failed, and said so
        backend.switch(down=False)
        back_at = trio.current_time()
        while engine.store_health.unflushed:  # noqa: ASYNC110
            await trio.sleep(0.05)
        assert trio.current_time() - back_at <= MAX_BACKOFF + persistence.flush_period + 0.1
        assert engine.store_health.ready
        assert engine.store_health.kv_status == KV_OK
        assert flushes[-1]
        record = stored(backend, f"hbtd/hb/{NAMES[3]}")
        assert record is not None
        assert record["Last_hb_rcv_time"] == EPOCH + down_at + 100  # the latest heartbeat
        nursery.cancel_scope.cancel()


async def test_a_death_deletes_the_record_and_wants_dead_in_one_transaction(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    engine = Engine(params())
    commits: list[list[str]] = []
    original = backend.commit

    def spy(ops: Sequence[tuple[str, bytes | None]], lease: int | None = None) -> int:
        commits.append([key for key, _ in ops])
        return original(ops, lease)

    backend.commit = spy  # type: ignore[method-assign]
    async with trio.open_nursery() as nursery:
        await start_persistence(nursery, engine, backend)
        await nursery.start(run_detector, engine)
        beat(engine, NAMES[0])
        await trio.sleep(10.3)  # warning, and the flush after it
        record = stored(backend, f"hbtd/hb/{NAMES[0]}")
        assert record is not None
        assert record["State"] == "warning"
        assert stored(backend, f"hbtd/hsm/{NAMES[0]}") == {"Wanted": "warning", "Acked": None}
        await trio.sleep(20)  # dead
        assert f"hbtd/hb/{NAMES[0]}" not in backend.data
        assert stored(backend, f"hbtd/hsm/{NAMES[0]}") == {"Wanted": "dead", "Acked": None}
        last = [c for c in commits if f"hbtd/hb/{NAMES[0]}" in c][-1]
        assert f"hbtd/hsm/{NAMES[0]}" in last
        nursery.cancel_scope.cancel()


async def test_a_restart_gives_grace_and_resends_what_hsm_did_not_acknowledge(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    long_ago = EPOCH - 3600.0  # the tracker was away for an hour
    live, warned, silent = NAMES[0], NAMES[1], NAMES[2]
    backend.data.update(
        {
            f"hbtd/hb/{live}": record_value(live, received=long_ago),
            f"hbtd/hb/{warned}": record_value(warned, received=long_ago, state=HbState.WARNING),
            f"hbtd/hb/{silent}": record_value(silent, received=long_ago),
            f"hbtd/hsm/{warned}": encode_hsm(Kind.WARNING, Kind.STARTED),
            f"hbtd/hsm/{NAMES[3]}": encode_hsm(Kind.DEAD, Kind.WARNING),  # record deleted
            f"hbtd/hsm/{NAMES[4]}": encode_hsm(None, Kind.STARTED),
            "hbtd/params": json.dumps(params(Warntime="7").to_json()).encode(),
        }
    )
    engine = Engine(params())
    seen: list[Transition] = []
    engine.listeners.append(seen.extend)
    async with trio.open_nursery() as nursery:
        await start_persistence(nursery, engine, backend)
        await nursery.start(run_detector, engine)
        start = trio.current_time()
        assert engine.params.warntime == 7  # the stored parameters win
        assert engine.books.wanted(warned) is Kind.WARNING
        assert engine.books.wanted(NAMES[3]) is Kind.DEAD
        assert engine.books.wanted(NAMES[4]) is None
        assert engine.books.export(NAMES[4])[1] is Kind.STARTED
        assert engine.is_heartbeating(live)
        assert engine.is_heartbeating(silent)
        for _ in range(12):
            await trio.sleep(1)
            beat(engine, live)
            if _ == 2:
                beat(engine, warned)
        kinds = {(t.xname, t.kind, t.at - start) for t in seen}
        assert (warned, Kind.RESTARTED, 3.0) in kinds
        assert (silent, Kind.WARNING, 7.0) in kinds  # Warntime after the restart, not before
        assert not [t for t in seen if t.xname == live]
        nursery.cancel_scope.cancel()


async def test_params_patched_here_are_stored(autojump_clock: trio.testing.MockClock) -> None:
    backend = MemoryBackend()
    engine = Engine(params())
    async with trio.open_nursery() as nursery:
        shared = await SharedState.open(engine, MemoryStore(backend, prefix="p/"), name="a")
        await nursery.start(shared.run)
        engine.set_params(engine.params.patched({"Errtime": "40"}))
        with trio.fail_after(5):
            while json.loads(backend.data.get("p/params", b"{}")).get("Errtime") != "40":  # noqa: ASYNC110
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


async def test_a_stored_sm_url_httpx_cannot_parse_does_not_stop_a_start(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Stored by a tracker before the checks of #21: the start keeps its own parameters and
    # says so in one line, instead of handing the HSM poller a URL it cannot use.
    backend = MemoryBackend()
    bad = params(Warntime="7").to_json() | {"Sm_url": "http://h:abc/x"}
    backend.data["hbtd/params"] = json.dumps(bad).encode()
    engine = Engine(params())
    caplog.set_level(logging.INFO, logger="hbtd")
    async with trio.open_nursery() as nursery:
        await start_persistence(nursery, engine, backend)
        nursery.cancel_scope.cancel()
    assert engine.params == params()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("ignoring the stored parameters: ")
    assert "Parameter 'sm_url' with invalid value 'http://h:abc/x' (Invalid port" in errors[0]


# -- replicas on one shared store ---------------------------------------------------------------


class Replica:
    """One tracker process, as far as the store is concerned: engine, store tasks, detector."""

    def __init__(self, name: str, backend: MemoryBackend) -> None:
        self.name = name
        self.backend = backend
        self.engine = Engine(params())
        self.seen: list[Transition] = []
        self.engine.listeners.append(self.seen.extend)
        self.scope = trio.CancelScope()
        self.shared: SharedState | None = None

    @property
    def state(self) -> ReplicaState:
        assert self.shared is not None
        return self.shared.replica.state

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        store = MemoryStore(self.backend, prefix="hbtd/")
        shared = await SharedState.open(self.engine, store, name=self.name, lease_ttl=3, wall=wall)
        self.shared = shared
        with self.scope:  # cancelling it is a kill -9: no resignation, the lease runs out
            async with trio.open_nursery() as nursery:
                await nursery.start(shared.run)
                await nursery.start(run_detector, self.engine)
                task_status.started()


async def start_replicas(nursery: trio.Nursery, count: int) -> list[Replica]:
    backend = MemoryBackend()
    replicas = [Replica(f"r{i}", backend) for i in range(count)]
    for replica in replicas:
        await nursery.start(replica.run)
    await trio.sleep(0.1)
    return replicas


def leaders(replicas: list[Replica]) -> list[Replica]:
    return [r for r in replicas if (r.engine.duty is Duty.LEAD) and not r.scope.cancel_called]


async def test_one_replica_leads_and_hears_every_replica(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        replicas = await start_replicas(nursery, 3)
        [leader] = leaders(replicas)
        followers = [r for r in replicas if r is not leader]
        assert {r.engine.store_health.role for r in followers} == {"follower"}
        # Each node beats to one replica (a load balancer); the leader learns them all.
        for _ in range(5):
            for i, xname in enumerate(NAMES[:30]):
                beat(replicas[i % 3].engine, xname)
            await trio.sleep(1)
        assert leader.engine.tracked == 30
        for follower in followers:
            assert follower.engine.tracked == 30  # /hbstates answers the same everywhere
            assert follower.engine.is_heartbeating(NAMES[0])
        started = {t.xname for t in leader.seen if t.kind is Kind.STARTED}
        assert started == set(NAMES[:30])
        assert not [t for f in followers for t in f.seen]  # only the leader reports
        # A node that stops is warned and declared dead by the leader alone, on time.
        stop = trio.current_time()
        for _ in range(35):
            for i, xname in enumerate(NAMES[1:30], start=1):
                beat(replicas[i % 3].engine, xname)
            await trio.sleep(1)
        changes = [(t.xname, t.kind) for t in leader.seen if t.kind is not Kind.STARTED]
        assert changes == [(NAMES[0], Kind.WARNING), (NAMES[0], Kind.DEAD)]
        warning = next(t for t in leader.seen if t.kind is Kind.WARNING)
        assert warning.at - warning.due < 1.0
        assert warning.due <= stop + 10
        for follower in followers:
            assert follower.engine.view(NAMES[0]) is None  # the leader's delete reached them
        nursery.cancel_scope.cancel()


async def test_when_the_leader_dies_another_takes_over_within_the_lease(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        replicas = await start_replicas(nursery, 3)
        [old] = leaders(replicas)
        live = [r for r in replicas if r is not old]
        for _ in range(3):
            for i, xname in enumerate(NAMES[:20]):
                beat(replicas[i % 3].engine, xname)
            await trio.sleep(1)
        old.scope.cancel()  # kill -9
        killed = trio.current_time()
        # Nodes keep beating to the live replicas; NAMES[0] and NAMES[1] stop at the kill.
        for _ in range(40):
            for i, xname in enumerate(NAMES[2:20]):
                beat(live[i % 2].engine, xname)
            await trio.sleep(1)
        [new] = leaders(replicas)
        assert new is not old
        takeover_lateness = 3.0  # the lease TTL
        changes = [(t.xname, t.kind) for t in new.seen]
        assert len(changes) == 4
        assert set(changes) == {(x, k) for x in NAMES[:2] for k in (Kind.WARNING, Kind.DEAD)}
        for transition in new.seen:
            # Grace: deadlines restart when the new leader takes over, at most a TTL late.
            silence = params().warntime if transition.kind is Kind.WARNING else params().errtime
            assert transition.at <= killed + takeover_lateness + silence
        # What the old leader wanted and HSM never acknowledged is still wanted.
        assert new.engine.books.wanted(NAMES[5]) is Kind.STARTED
        assert new.engine.books.wanted(NAMES[0]) is Kind.DEAD
        nursery.cancel_scope.cancel()


async def test_a_params_patch_on_any_replica_reaches_all(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        replicas = await start_replicas(nursery, 3)
        follower = next(r for r in replicas if r.engine.duty is not Duty.LEAD)
        follower.engine.set_params(follower.engine.params.patched({"Warntime": "12"}))
        await trio.sleep(1)
        assert {r.engine.params.warntime for r in replicas} == {12}
        nursery.cancel_scope.cancel()


async def test_a_record_beside_a_dead_entry_is_reported_started(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    backend.data[f"hbtd/hb/{NAMES[0]}"] = record_value(NAMES[0], received=EPOCH)
    backend.data[f"hbtd/hsm/{NAMES[0]}"] = encode_hsm(None, Kind.DEAD)
    engine = Engine(params())
    async with trio.open_nursery() as nursery:
        await start_persistence(nursery, engine, backend)
        assert engine.books.wanted(NAMES[0]) is Kind.STARTED
        nursery.cancel_scope.cancel()


async def test_a_death_seen_while_cut_off_from_the_store_is_sent_as_soon_as_it_is_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # #13: the one replica keeps detecting while the store is away (once: a later leader
    # judged the node again, a whole Errtime after the store came back).
    async with trio.open_nursery() as nursery:
        [replica] = await start_replicas(nursery, 1)
        backend, engine = replica.backend, replica.engine
        beat(engine, NAMES[0])
        await trio.sleep(29)
        backend.switch(down=True)
        await trio.sleep(1.1)  # declared dead, but neither the death nor "dead" can be written
        assert replica.seen[-1].kind is Kind.DEAD
        await trio.sleep(5)
        assert not replica.state.leading  # it could not renew its lease...
        assert replica.state.detached  # ...but it goes on detecting
        assert engine.duty is Duty.HOLD
        assert engine.store_health.role == "detached"
        for _ in range(40):  # NAMES[2] starts, then dies during the outage; NAMES[1] starts
            beat(engine, NAMES[1], *([NAMES[2]] if _ < 3 else []))
            await trio.sleep(1)
        deaths = [t.xname for t in replica.seen if t.kind is Kind.DEAD]
        assert deaths == [NAMES[0], NAMES[2]]
        assert engine.books.wanted(NAMES[2]) is Kind.DEAD  # held, not sent
        assert f"hbtd/hb/{NAMES[0]}" in backend.data  # never deleted without its "dead"
        backend.switch(down=False)
        back = trio.current_time()
        while not replica.state.leading:
            beat(engine, NAMES[1])
            await trio.sleep(0.05)
        assert trio.current_time() - back <= 0.5  # asked again every 0.25 s
        await trio.sleep(MAX_BACKOFF + 1)  # the flusher, backing off while the store was away
        for dead in NAMES[0], NAMES[2]:
            assert engine.books.wanted(dead) is Kind.DEAD  # sent at once, not Errtime later
            assert f"hbtd/hb/{dead}" not in backend.data
            assert stored(backend, f"hbtd/hsm/{dead}") == {"Wanted": "dead", "Acked": None}
        assert engine.view(NAMES[1]) is not None
        assert engine.books.wanted(NAMES[1]) is Kind.STARTED
        nursery.cancel_scope.cancel()


async def test_a_detached_result_another_replica_disproves_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A replica cut off from the store sees a node fall silent; another replica heard it all
    # along. The detached replica wins the lead back: the store's record is newer, so the
    # node is alive ("restarted" replaces the held warning, no false "dead").
    backend = MemoryBackend()
    async with trio.open_nursery() as nursery:
        [replica] = await start_replicas(nursery, 1)
        backend = replica.backend
        engine = replica.engine
        beat(engine, NAMES[0])
        await trio.sleep(1)
        backend.switch(down=True)
        await trio.sleep(15)  # warned (held): it beats only to another replica meanwhile
        assert replica.state.detached
        assert engine.books.wanted(NAMES[0]) is Kind.WARNING
        record = json.loads(backend.data[f"hbtd/hb/{NAMES[0]}"])
        record |= {"Last_hb_rcv_time": wall() - 1, "Replica": "other"}
        backend.data[f"hbtd/hb/{NAMES[0]}"] = json.dumps(record).encode()
        backend.switch(down=False)
        await trio.sleep(1)
        assert replica.state.leading
        assert engine.books.wanted(NAMES[0]) is Kind.RESTARTED
        assert [t.kind for t in replica.seen][-2:] == [Kind.WARNING, Kind.RESTARTED]
        nursery.cancel_scope.cancel()


async def test_nodes_first_heard_as_a_follower_are_reported_started_on_taking_the_lead(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = Engine(params())
    shared = await SharedState.open(engine, MemoryStore(MemoryBackend()), name="a", wall=wall)
    assert not shared.replica.state.leading
    assert engine.duty is Duty.FOLLOW
    beat(engine, NAMES[0])  # heard before the election: a follower reports nothing
    assert engine.books.wanted(NAMES[0]) is None
    async with trio.open_nursery() as nursery:
        await nursery.start(shared.run)
        await trio.sleep(0.1)
        assert shared.replica.state.leading
        assert engine.books.wanted(NAMES[0]) is Kind.STARTED
        nursery.cancel_scope.cancel()

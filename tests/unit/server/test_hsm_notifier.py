"""The HSM notifier against the mock HSM, in process, on trio's autojump clock.

The mock HSM follows HSM's own rules (hb_sim); it is reached through httpx's ASGI transport,
so these tests need no socket and no real time.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from hb_sim.hsm import Faults, MockHsm, RecordedRequest, create_mock_hsm_app
from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Kind, Params
from hbtd_server.notify import (
    AWAY_REPEAT,
    MAX_IDS_PER_READ,
    run_hsm_notifier,
    run_hsm_ready_poller,
    run_reconciler,
)
from hbtd_server.service import run_detector
from tests.unit.server.engine_support import beat

NAMES = [f"x1000c{c}s{s}b0n{n}" for c in range(8) for s in range(8) for n in range(2)]


@dataclass
class Rig:
    engine: Engine
    hsm: MockHsm
    nursery: trio.Nursery

    def beat(self, *xnames: str) -> None:
        beat(self.engine, *xnames)

    def patches(self) -> list[RecordedRequest]:
        return [r for r in self.hsm.requests() if r.method == "PATCH"]

    def delivered(self) -> list[RecordedRequest]:
        return [r for r in self.patches() if r.status == 204]


def params(**changes: str) -> Params:
    base = {"Warntime": "10", "Errtime": "30", "Interval": "5", "Sm_url": "http://hsm/hsm/v2"}
    # These whole fleets fall silent together on purpose: the silence guard would hold alerts.
    base["Guard_share"] = "0"
    return DEFAULT_PARAMS.patched(base | changes)


async def start_rig(nursery: trio.Nursery, engine_params: Params, hsm: MockHsm) -> Rig:
    engine = Engine(engine_params)
    app: Any = create_mock_hsm_app(hsm)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    await nursery.start(run_detector, engine)
    await nursery.start(run_hsm_ready_poller, engine, client)
    await nursery.start(run_hsm_notifier, engine, client)
    await nursery.start(run_reconciler, engine, client)
    await trio.sleep(0.01)  # first readiness answer
    return Rig(engine, hsm, nursery)


async def test_a_wave_of_starts_goes_in_one_patch(autojump_clock: trio.testing.MockClock) -> None:
    hsm = MockHsm(nodes=NAMES)
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(), hsm)
        for xname in NAMES:
            rig.beat(xname)
            await trio.sleep(0.001)  # 128 nodes over 0.128 s: inside one batching window
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    [patch] = rig.delivered()
    assert patch.body["State"] == "Ready"
    assert patch.body["ExtendedInfo"] == {"ID": "", "Message": "Heartbeat started", "Flag": ""}
    assert sorted(patch.body["ComponentIDs"]) == sorted(NAMES)
    assert all(hsm.component(x).state == "Ready" for x in NAMES)
    assert rig.engine.books.pending_count == 0


async def test_huge_waves_are_chunked(autojump_clock: trio.testing.MockClock) -> None:
    names = [f"x{1000 + i // 128}c{i // 16 % 8}s{i // 2 % 8}b0n{i % 2}" for i in range(10_000)]
    hsm = MockHsm(nodes=names)
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(), hsm)
        rig.beat(*names)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    sizes = sorted(len(r.body["ComponentIDs"]) for r in rig.delivered())
    assert sizes == [2000, 4000, 4000]


async def test_outage_collapses_to_the_latest_state(autojump_clock: trio.testing.MockClock) -> None:
    # Both were started before the outage: HSM moves only Ready nodes to Standby.
    hsm = MockHsm(nodes=NAMES[:2], node_state="Ready", faults=Faults(mode="down"))
    x, y = NAMES[:2]
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(), hsm)
        rig.beat(x, y)
        await trio.sleep(15)  # both warned
        rig.beat(y)  # y restarted
        await trio.sleep(30)  # x dead; y warned again at 25 s... and dead at 45 s
        hsm.set_faults(Faults())
        recovered = trio.current_time()
        await trio.sleep(7)  # readiness is polled every Interval while HSM is away
        nursery.cancel_scope.cancel()
    # Nothing is sent while HSM says it is not ready.
    assert [r for r in rig.patches() if r.time < recovered] == []
    # One PATCH: both latest states are the same kind, so they go together.
    bodies = [(sorted(r.body["ComponentIDs"]), r.body["Flag"]) for r in rig.delivered()]
    assert bodies == [([x, y], "Alert")]
    assert hsm.component(x).state == "Standby"


async def test_failed_patches_are_retried_then_resent_every_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hsm = MockHsm(nodes=NAMES[:1], faults=Faults(mode="error", error_status=503))
    async with trio.open_nursery() as nursery:
        rig = await start_rig(
            nursery, params(Sm_retries="2", Interval="5", Warntime="100", Errtime="200"), hsm
        )
        start = trio.current_time()
        rig.beat(NAMES[0])
        await trio.sleep(3)
        first_round = [r.time - start for r in rig.patches()]
        await trio.sleep(6)
        second_round = [r.time - start for r in rig.patches()][len(first_round) :]
        hsm.set_faults(Faults())
        await trio.sleep(6)
        nursery.cancel_scope.cancel()
    assert len(first_round) == 3  # one try and Sm_retries retries, with backoff
    assert first_round[1] - first_round[0] == pytest.approx(0.5)
    assert len(second_round) == 3
    assert second_round[0] >= first_round[-1] + 5  # paced by Interval
    assert rig.delivered()
    assert hsm.component(NAMES[0]).state == "Ready"


async def test_sm_timeout_bounds_a_slow_hsm(autojump_clock: trio.testing.MockClock) -> None:
    hsm = MockHsm(nodes=NAMES[:1])
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Sm_timeout="2", Sm_retries="0"), hsm)
        hsm.set_faults(Faults(latency_ms=60_000))
        start = trio.current_time()
        rig.beat(NAMES[0])
        await trio.sleep(2.5)
        assert rig.engine.books.health.patch_outcomes["timeout"] == 1
        assert trio.current_time() - start < 3
        assert rig.engine.books.wanted(NAMES[0]) is Kind.STARTED
        nursery.cancel_scope.cancel()


async def test_one_refused_id_does_not_hold_back_the_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hsm = MockHsm(nodes=NAMES)
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(), hsm)
        rig.engine.books.want("not-an-xname", Kind.STARTED)  # HSM refuses the whole batch
        rig.beat(*NAMES)
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert all(hsm.component(x).state == "Ready" for x in NAMES)
    # The refused ID is not forgotten (#13): it stays wanted, held on its own backoff.
    assert rig.engine.books.refusal()[0] == 1
    assert rig.engine.books.wanted("not-an-xname") is Kind.STARTED
    assert rig.engine.books.pending_count == 1
    refused = [r for r in rig.patches() if r.status == 400]
    assert refused  # the bisection found it
    assert len(rig.patches()) <= 2 * 8 + 2  # about 2 * log2(129) requests, not 129


async def test_a_refused_id_is_retried_on_its_own_capped_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hsm = MockHsm(nodes=NAMES)
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Interval="5"), hsm)
        rig.engine.books.want("not-an-xname", Kind.STARTED)
        rig.engine.books.wake()
        start = trio.current_time()
        await trio.sleep(700)
        nursery.cancel_scope.cancel()
    tries = [r.time - start for r in rig.patches()]
    gaps = [round(b - a) for a, b in itertools.pairwise(tries)]
    # Interval, doubling, capped at REFUSAL_BACKOFF_CAP (180 s): never given up.
    assert gaps == [5, 10, 20, 40, 80, 160, 180, 180]
    count, age = rig.engine.books.refusal()
    assert count == 1
    assert age == pytest.approx(700 - tries[0], abs=1)  # since the first refusal


async def test_401_holds_everything_without_bisecting_and_backs_off(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    hsm = MockHsm(nodes=NAMES, faults=Faults(mode="error", error_status=401))
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Interval="5", Warntime="100", Errtime="200"), hsm)
        rig.beat(*NAMES)
        await trio.sleep(40)
        assert rig.engine.books.refusal()[0] == len(NAMES)
        assert rig.engine.books.wanted(NAMES[0]) is Kind.STARTED
        hsm.set_faults(Faults())
        await trio.sleep(60)
        nursery.cancel_scope.cancel()
    refused = [r for r in rig.patches() if r.status == 401]
    assert {len(r.body["ComponentIDs"]) for r in refused} == {len(NAMES)}  # never split
    gaps = [round(b.time - a.time) for a, b in itertools.pairwise(refused)]
    assert gaps == [5, 10, 20]
    assert all(hsm.component(x).state == "Ready" for x in NAMES)
    assert rig.engine.books.refusal() == (0, None)
    assert rig.engine.books.pending_count == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "hbtd.hsm"]
    assert len([line for line in lines if line.startswith("HSM refuses")]) == 1  # per cause
    assert len([line for line in lines if line.startswith("HSM accepts again")]) == 1


async def test_400_then_401_during_a_failure_wave_ends_with_hsm_at_the_truth(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # #13's acceptance: HSM refuses with 400 for a stretch, then 401, while half the machine
    # dies and a few nodes restart; after it recovers, every state arrives.
    hsm = MockHsm(nodes=NAMES)
    dead, restarted = set(NAMES[:64]), set(NAMES[64:72])
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Interval="5", Warntime="10", Errtime="30"), hsm)
        silent: set[str] = set()

        async def fleet() -> None:
            while True:
                rig.beat(*[x for x in NAMES if x not in silent])
                await trio.sleep(1)

        nursery.start_soon(fleet)
        await trio.sleep(3)  # every node started and acknowledged
        assert all(hsm.component(x).state == "Ready" for x in NAMES)
        hsm.set_faults(Faults(mode="error", error_status=400))
        silent |= dead | restarted
        await trio.sleep(15)  # all of them warned (refused)
        silent -= restarted  # these come back: restarted
        await trio.sleep(45)  # the dead ones are declared dead (refused)
        hsm.set_faults(Faults(mode="error", error_status=401))
        refusing = len(rig.patches())
        await trio.sleep(60)
        during_401 = len(rig.patches()) - refusing
        count, age = rig.engine.books.refusal()
        assert count == len(dead) + len(restarted)  # "restarted" waits too
        assert age is not None
        assert age > 80
        hsm.set_faults(Faults())
        await trio.sleep(200)  # the longest backoff is 180 s
        nursery.cancel_scope.cancel()
    for xname in NAMES:
        component = hsm.component(xname)
        expected = ("Standby", "Alert") if xname in dead else ("Ready", "OK")
        assert (component.state, component.flag) == expected, xname
    assert rig.engine.books.refusal() == (0, None)
    assert rig.engine.books.pending_count == 0
    assert during_401 <= 6  # backing off, not bisecting: about one PATCH per backoff step
    causes = [
        r.getMessage().split(":")[0]
        for r in caplog.records
        if r.getMessage().startswith("HSM refuses")
    ]
    assert len(causes) == len(set(causes)) >= 2  # one line per cause, not one per attempt


async def test_nosm_sends_nothing_at_all(autojump_clock: trio.testing.MockClock) -> None:
    hsm = MockHsm(nodes=NAMES)
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Nosm="1"), hsm)
        rig.beat(*NAMES)
        await trio.sleep(60)
        assert hsm.requests() == []
        assert rig.engine.books.pending_count == len(NAMES)
        # Turning Nosm off delivers what was held: the latest state of each node.
        rig.engine.set_params(rig.engine.params.patched({"Nosm": "0"}))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    [patch] = rig.delivered()
    assert patch.body["Flag"] == "Alert"


async def test_an_unreachable_hsm_is_reported_once_then_every_few_minutes(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # #15: one WARNING when HSM is away, repeated with a count while it stays away.
    hsm = MockHsm(nodes=NAMES, faults=Faults(mode="down"))
    with caplog.at_level(logging.INFO, logger="hbtd.hsm"):
        async with trio.open_nursery() as nursery:
            rig = await start_rig(nursery, params(), hsm)
            await trio.sleep(AWAY_REPEAT * 2 + 10)
            hsm.set_faults(Faults())
            await trio.sleep(10)
            nursery.cancel_scope.cancel()
    assert rig.engine.books.health.ready is True
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "hbtd.hsm"]
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "WARNING", "INFO"]
    assert lines[0][1].startswith("HSM not ready at http://hsm/hsm/v2 (")
    assert "checking every 5 s" in lines[0][1]
    checks = AWAY_REPEAT / 5  # one readiness check every Interval
    assert f"for 5 min ({checks + 1:.0f} failed checks; last: " in lines[1][1]
    assert f"for 10 min ({2 * checks + 1:.0f} failed checks; last: " in lines[2][1]
    assert lines[3][1].startswith("HSM is ready at http://hsm/hsm/v2 after ")


async def test_hsm_refusing_connections_is_not_reachable(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed", request=request)

    engine = Engine(params())
    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    with caplog.at_level(logging.INFO, logger="hbtd.hsm"):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_hsm_ready_poller, engine, client)
            await trio.sleep(60)
            nursery.cancel_scope.cancel()
    [line] = [r.getMessage() for r in caplog.records if r.name == "hbtd.hsm"]
    assert line.startswith("HSM not reachable at http://hsm/hsm/v2 (http://hsm/hsm/v2/service/")
    assert "ConnectError" in line


async def test_a_reboot_with_a_power_cycle_ends_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # HSM is not ours alone: its power events set Off, then On, while hbtd believes Ready/OK.
    x = NAMES[0]
    hsm = MockHsm(nodes=[x])
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(), hsm)
        rig.beat(x)
        await trio.sleep(1)
        assert hsm.component(x).state == "Ready"
        beat(rig.engine, x, status="Shutdown")
        assert rig.engine.books.export(x)[1] is None  # forgotten with the node
        hsm.set_state([x], "Off", now=trio.current_time())  # Redfish power events
        hsm.set_state([x], "On", now=trio.current_time())
        assert hsm.component(x).state == "On"
        await trio.sleep(2)
        rig.beat(x)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert (hsm.component(x).state, hsm.component(x).flag) == ("Ready", "OK")


# -- reconciliation: HSM read back -------------------------------------------------------------


def hsm_shows(hsm: MockHsm, x: str) -> tuple[str, str]:
    return hsm.component(x).state, hsm.component(x).flag


async def test_reconciliation_puts_back_ready_ok_and_leaves_a_dead_nodes_off_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    live, dead = NAMES[:2]
    hsm = MockHsm(nodes=[live, dead])
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Reconcile_interval="4"), hsm)
        rig.beat(live, dead)
        for _ in range(35):  # dead falls silent: Standby/Alert at 30 s
            await trio.sleep(1)
            rig.beat(live)
        assert hsm_shows(hsm, dead) == ("Standby", "Alert")
        hsm.set_state([live], "Standby", "Alert", now=trio.current_time())  # an operator
        hsm.set_state([dead], "Off", now=trio.current_time())  # HSM's power polling
        changed = trio.current_time()
        while hsm_shows(hsm, live) != ("Ready", "OK") and trio.current_time() - changed < 10:
            await trio.sleep(0.1)
            rig.beat(live)
        assert hsm_shows(hsm, live) == ("Ready", "OK")
        assert trio.current_time() - changed <= 4 + 0.5
        for _ in range(3 * 4 * 10):  # three more periods
            await trio.sleep(0.1)
            rig.beat(live)
        nursery.cancel_scope.cancel()
    assert hsm_shows(hsm, dead) == ("Off", "OK")
    assert rig.engine.books.reconcile_health.corrections == {"restarted": 1}
    assert rig.engine.books.reconcile_health.rounds >= 10
    reads = [r for r in hsm.requests() if r.method == "GET" and "Components" in r.path]
    assert reads
    assert all(r.status == 200 for r in reads)


async def test_a_node_hsm_skipped_is_corrected_by_the_next_round(
    autojump_clock: trio.testing.MockClock,
) -> None:
    x = NAMES[0]
    hsm = MockHsm(nodes=[x], node_state="Populated")  # not discovered yet
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Reconcile_interval="4"), hsm)
        await trio.sleep(1)  # the first round, at start
        rig.beat(x)
        await trio.sleep(1)
        assert hsm_shows(hsm, x) == ("Populated", "OK")  # skipped, 204 all the same
        hsm.set_state([x], "On", force=True, now=trio.current_time())  # discovery
        for _ in range(50):
            await trio.sleep(0.1)
            rig.beat(x)
        nursery.cancel_scope.cancel()
    assert hsm_shows(hsm, x) == ("Ready", "OK")


async def test_a_round_reads_in_bounded_chunks_and_a_failed_read_drops_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    names = [f"x{1000 + i // 128}c{i // 16 % 8}s{i // 2 % 8}b0n{i % 2}" for i in range(1200)]
    hsm = MockHsm(nodes=names)
    async with trio.open_nursery() as nursery:
        rig = await start_rig(nursery, params(Reconcile_interval="20"), hsm)
        rig.beat(*names)
        await trio.sleep(1)
        rig.engine.books.reconcile_now()
        await trio.sleep(1)
        reads = [r for r in hsm.requests() if r.method == "GET" and "Components" in r.path]
        assert len(reads) == -(-len(names) // MAX_IDS_PER_READ)
        assert rig.engine.books.reconcile_health.last["Components"] == 1200
        assert rig.engine.books.reconcile_health.last["Corrected"] == 0
        hsm.set_faults(Faults(mode="down"))
        rig.engine.books.reconcile_now()
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert rig.engine.books.reconcile_health.failed == 1
    assert "answered 503" in str(rig.engine.books.reconcile_health.last["Error"])

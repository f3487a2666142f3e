"""Playing a scenario in virtual time: one ``trio.run`` on a MockClock, all in process.

Theory of operation: the clock jumps whenever every task waits. The tracker is an in-process
``Engine`` (``run_tracker_tasks``) talking to the mock HSM app through httpx's ASGI transport;
the ``VirtualFleet`` hands heartbeats to ``engine.heartbeat`` in batches, and the ``Player``
plays the timeline on both. Trio's order among tasks that wake at the same instant is made
repeatable too (``_trio_order``), so the same scenario and seed give the same run, event for
event, in any process.
"""

from __future__ import annotations

import time as wall
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import httpx
import trio
import trio.testing

from hbtd_server import Engine, run_tracker_tasks
from hbtd_server.core import DEFAULT_PARAMS, Heartbeat, Params

from ..fleet import VirtualFleet
from ..hsm import Faults, MockHsm, create_mock_hsm_app, run_power_polling
from ..scenario import DelayHeartbeats, Scenario
from ._checks import judge
from ._live_hsm import hsm_states
from ._player import Player
from ._result import RunOptions, RunResult
from ._snapshot import SnapshotBuilder
from ._timeline import cadence, param_epochs
from ._trio_order import repeatable_order
from ._truth import Truth

__all__ = ["VIRTUAL_HSM", "run_virtual", "tracker_params"]

#: The mock HSM's base URL inside a virtual run (no socket: httpx's ASGI transport).
VIRTUAL_HSM = "http://mock-hsm"


def run_virtual(scenario: Scenario, options: RunOptions) -> RunResult:
    """Play ``scenario`` in virtual time (see the module docstring)."""
    started = wall.perf_counter()
    clock = trio.testing.MockClock(autojump_threshold=0)
    run = _VirtualRun(scenario, options)
    with repeatable_order(f"{scenario.seed}/trio"):
        trio.run(run.main, clock=clock)
    return run.result(wall.perf_counter() - started)


def tracker_params(scenario: Scenario, sm_url: str) -> Params:
    """The tracker's starting parameters for ``scenario``, reporting to ``sm_url``.

    Raises:
        HbtdError: the tracker refuses them (for example a fractional Warntime).
    """
    return DEFAULT_PARAMS.patched({**scenario.tracker.as_params(), "Sm_url": sm_url})


def _drop(_heartbeat: Heartbeat) -> None:
    pass


class _VirtualRun:
    """One virtual run: the model, the tracker, the fleet, and the rig the player pulls."""

    def __init__(self, scenario: Scenario, options: RunOptions) -> None:
        self.scenario = scenario
        self.options = options
        self.selection = scenario.selection()
        self.hsm: MockHsm = scenario.mock_hsm(self.selection)
        fleet = frozenset(scenario.fleet.nodes)
        self.hsm_initial = {
            x: (c.state, c.flag) for x, c in self.hsm.components.items() if x in fleet
        }
        self.truth = Truth(
            scenario.fleet.nodes,
            (scenario.hsm.initial_state, scenario.hsm.initial_flag),
            param_epochs(scenario),
            reconcile=scenario.tracker.reconcile,
        )
        self.params = tracker_params(scenario, VIRTUAL_HSM + "/hsm/v2")
        self.engine: Engine | None = None
        self.fleet: VirtualFleet | None = None
        self.player: Player | None = None
        self.start = 0.0
        self._client: httpx.AsyncClient | None = None
        self._nursery: trio.Nursery | None = None
        self._tracker_scope: trio.CancelScope | None = None

    def now(self) -> float:
        return trio.current_time() - self.start

    async def main(self) -> None:
        scenario = self.scenario
        self.start = trio.current_time()
        app: Any = create_mock_hsm_app(self.hsm, clock=self.now)
        max_delay = max(
            (e.by for e in scenario.timeline if isinstance(e, DelayHeartbeats)), default=0.0
        )
        fleet = VirtualFleet(
            nodes=scenario.fleet.nodes,
            log=self.truth,
            start=self.start,
            slot=self.options.slot,
            max_delay=max_delay,
            **cadence(scenario),
        )
        self.fleet = fleet
        snapshots = SnapshotBuilder(
            title=scenario.name,
            duration=scenario.duration,
            nodes=scenario.fleet.nodes,
            hsm=self.hsm,
        )
        player = Player(
            scenario, self.selection, fleet, self, self.options, snapshots, truth=self.truth
        )
        self.player = player
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client,
            trio.open_nursery() as nursery,
        ):
            self._client, self._nursery = client, nursery
            if self.hsm.power_polling:
                nursery.start_soon(partial(run_power_polling, self.hsm, clock=self.now))
            self._tracker_scope = await nursery.start(self._tracker_life)
            await nursery.start(fleet.run)
            await player.play(self.start)
            fleet.deliver = _drop
            nursery.cancel_scope.cancel()
        player.snapshot(force=True)

    # -- the tracker ----------------------------------------------------------------------

    async def _tracker_life(
        self, *, task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED
    ) -> None:
        assert self.fleet is not None
        assert self._client is not None
        with trio.CancelScope() as scope:
            engine = self.options.engine_factory(self.params, self.fleet.clock)
            self.engine = engine
            self.fleet.deliver = engine.heartbeat
            async with trio.open_nursery() as nursery:
                await nursery.start(run_tracker_tasks, engine, self._client)
                task_status.started(scope)

    # -- the rig (see Player) -------------------------------------------------------------

    async def set_faults(self, faults: Faults) -> None:
        self.hsm.set_faults(faults)

    async def set_power(self, names: Sequence[str], *, on: bool) -> None:
        if self.hsm.power_polling:
            self.hsm.set_power(names, on=on)

    async def restart_tracker(self, downtime: float) -> None:
        assert self.fleet is not None
        assert self._nursery is not None
        assert self._tracker_scope is not None
        self._tracker_scope.cancel()
        self.fleet.deliver = _drop
        self.engine = None
        await trio.sleep(downtime)
        # A new Engine: the memory store is gone, as with upstream's in-memory mode.
        self._tracker_scope = await self._nursery.start(self._tracker_life)

    async def patch_params(self, params: Mapping[str, str]) -> None:
        self.params = self.params.patched(dict(params))
        if self.engine is not None:
            self.engine.set_params(self.params)

    async def heartbeating(self, names: Sequence[str]) -> dict[str, bool]:
        engine = self.engine
        return {x: engine is not None and engine.is_heartbeating(x) for x in names}

    async def write_state(
        self, names: Sequence[str], state: str, flag: str, *, force: bool
    ) -> None:
        self.hsm.set_state(names, state, flag, force=force, now=self.now())

    async def hsm_states(self, names: Sequence[str]) -> dict[str, tuple[str, str]]:
        return hsm_states(self.hsm, names)

    async def restore(self, states: Mapping[str, tuple[str, str]]) -> None:
        self.hsm.restore(states, now=self.now())

    # -- the end --------------------------------------------------------------------------

    def result(self, wall_seconds: float) -> RunResult:
        scenario = self.scenario
        player, fleet = self.player, self.fleet
        assert player is not None
        assert fleet is not None
        record = player.record(
            self.truth, self.hsm_initial, self.hsm.changes(), self.hsm.requests()
        )
        return RunResult(
            scenario=scenario,
            clock="virtual",
            verdicts=tuple(judge(record)),
            record=record,
            wall_seconds=wall_seconds,
            heartbeats_sent=fleet.sent,
            heartbeats_delivered=fleet.delivered,
            marks=tuple(player.marks),
            target="in-process Engine",
        )

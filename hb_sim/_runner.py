"""Playing a scenario: the timeline, the fleet, a tracker and the mock HSM, then the verdicts.

Theory of operation. ``run_scenario`` plays one scenario and returns a ``RunResult``.

- *virtual* clock: one ``trio.run`` on a ``MockClock`` that jumps whenever every task waits.
  The tracker is an in-process ``Engine`` (``run_tracker_tasks``) talking to the mock HSM app
  through httpx's ASGI transport; the fleet (``_fleet``) hands heartbeats to
  ``engine.heartbeat`` in batches. Trio's order among tasks that wake at the same instant is
  made repeatable too (``_repeatable_trio``), so the same scenario and seed give the same
  run, event for event, in any process.
- *live* clock (``_live``): real sockets and processes in real time.

Either way the run leaves a ``RunRecord`` and ``_checks.judge`` turns it into verdicts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import math
import random
import time as wall
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import httpx
import trio
import trio.testing

from hbtd_server import Engine, run_tracker_tasks
from hbtd_server.core import DEFAULT_PARAMS, Params

from ._checks import RunRecord, Verdict, judge
from ._fleet import DEFAULT_SLOT, VirtualFleet
from ._hsm_app import create_mock_hsm_app
from ._mock_hsm import Faults, MockHsm
from ._scenario import (
    DelayHeartbeats,
    Event,
    HealPartition,
    HsmChange,
    NodesDie,
    NodesFlap,
    NodesRevive,
    ParamsPatch,
    PartitionNodes,
    Scenario,
    TrackerRestart,
)
from ._selectors import Selection
from ._serve import run_power_polling
from ._snapshot import SimSnapshot, SnapshotBuilder
from ._truth import ParamEpoch, Truth

__all__ = [
    "EngineFactory",
    "RunOptions",
    "RunResult",
    "SnapshotHook",
    "TimelineMark",
    "default_engine",
    "run_scenario",
    "run_virtual",
]

#: The mock HSM's base URL inside a virtual run (no socket: httpx's ASGI transport).
VIRTUAL_HSM = "http://mock-hsm"
#: How often a ``by`` window samples the tracker's Heartbeating.
HEARTBEATING_SAMPLE = 0.5

EngineFactory = Callable[[Params, Callable[[], float]], Engine]
SnapshotHook = Callable[[SimSnapshot], None]


def default_engine(params: Params, clock: Callable[[], float]) -> Engine:
    """The tracker a virtual run plays against: hbtd's own ``Engine``.

    Args:
        params: its starting parameters.
        clock: trio's clock (read cheaply while the fleet hands over a batch).
    """
    return Engine(params, clock=clock)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """How to play a scenario.

    Attributes:
        clock: ``virtual`` (in process, MockClock) or ``live`` (sockets, real time).
        seed: overrides the scenario's seed.
        target: live only: the base URL of a running tracker (``http://host:port``); None
            starts an ``hbtd`` process.
        hsm: live with ``target``: the base URL of the mock HSM that tracker reports to;
            None serves one in process (then the tracker must already point at it).
        engine_factory: virtual only: builds the tracker's engine from its parameters and
            clock (tests give broken ones).
        on_snapshot: called with a ``SimSnapshot`` every ``snapshot_period`` of run time,
            at most once per ``snapshot_min_wall_gap`` wall seconds, and once at the end.
        snapshot_period: run seconds between snapshots.
        snapshot_min_wall_gap: least wall seconds between snapshots.
        slot: virtual only: the fleet's time slot in seconds.
        hbtd_args: live only: further command-line arguments for the started ``hbtd``.
        log_dir: live only: where the started ``hbtd`` writes ``tracker.log`` (the system's
            temporary folder when None).
        connections: live only: keep-alive connections the fleet shares.
    """

    clock: Literal["virtual", "live"] = "virtual"
    seed: int | None = None
    target: str | None = None
    hsm: str | None = None
    engine_factory: EngineFactory = default_engine
    on_snapshot: SnapshotHook | None = None
    snapshot_period: float = 1.0
    snapshot_min_wall_gap: float = 0.1
    slot: float = DEFAULT_SLOT
    hbtd_args: tuple[str, ...] = ()
    log_dir: str | None = None
    connections: int = 32


@dataclass(frozen=True, slots=True)
class TimelineMark:
    """An event of the run, for the timeline picture: when, and a short label."""

    time: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """A finished run.

    Attributes:
        scenario: what was played (with the seed used).
        clock: ``virtual`` or ``live``.
        verdicts: one per expectation, then one per invariant.
        record: what the checks read.
        wall_seconds: how long the run took.
        heartbeats_sent: heartbeats the fleet sent (or would have, for lost ones).
        heartbeats_delivered: heartbeats that reached the tracker's address.
        heartbeats_failed: live only: delivered heartbeats the tracker did not answer 200
            (refused, or it was away).
        marks: the timeline's events, as played.
        target: what was played against (``in-process Engine``, a URL).
    """

    scenario: Scenario
    clock: str
    verdicts: tuple[Verdict, ...]
    record: RunRecord
    wall_seconds: float
    heartbeats_sent: int
    heartbeats_delivered: int
    heartbeats_failed: int = 0
    marks: tuple[TimelineMark, ...] = ()
    target: str = ""

    @property
    def passed(self) -> bool:
        """Whether every expectation and invariant held."""
        return all(v.passed for v in self.verdicts)

    @property
    def heartbeat_rate(self) -> float:
        """Heartbeats delivered per second of run time."""
        return self.heartbeats_delivered / self.record.end if self.record.end > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the result as a JSON object (the report's ``result.json``)."""
        scenario = self.scenario
        return {
            "scenario": scenario.name,
            "path": scenario.path,
            "seed": scenario.seed,
            "clock": self.clock,
            "target": self.target,
            "passed": self.passed,
            "duration": self.record.end,
            "nodes": len(scenario.fleet.nodes),
            "wall_seconds": round(self.wall_seconds, 3),
            "heartbeats_sent": self.heartbeats_sent,
            "heartbeats_delivered": self.heartbeats_delivered,
            "heartbeats_failed": self.heartbeats_failed,
            "heartbeat_rate": round(self.heartbeat_rate, 1),
            "hsm_requests": len(self.record.requests),
            "hsm_changes": len(self.record.changes),
            "verdicts": [v.to_json() for v in self.verdicts],
            "events": [{"time": m.time, "label": m.label} for m in self.marks],
        }


def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Play ``scenario`` and judge it.

    Args:
        scenario: a validated scenario.
        options: how to play it; virtual time by default.

    Returns:
        The result, verdicts included.

    Raises:
        HbtdError: the scenario's tracker parameters are refused by the tracker.
        HbSimError: the scenario cannot be played this way (for example a tracker restart
            against ``--target``).
    """
    options = options or RunOptions()
    if options.seed is not None:
        scenario = dataclasses.replace(scenario, seed=options.seed)
    if options.clock == "virtual":
        return run_virtual(scenario, options)
    from ._live import run_live  # real sockets and processes: only when asked for

    return trio.run(partial(run_live, scenario, options))


def run_virtual(scenario: Scenario, options: RunOptions) -> RunResult:
    """Play ``scenario`` in virtual time (see the module docstring)."""
    started = wall.perf_counter()
    clock = trio.testing.MockClock(autojump_threshold=0)
    player = _VirtualPlayer(scenario, options)
    with _repeatable_trio(f"{scenario.seed}/trio"):
        trio.run(player.main, clock=clock)
    return player.result(wall.perf_counter() - started)


@contextlib.contextmanager
def _repeatable_trio(seed: str) -> Iterator[None]:
    """Make trio's choices among tasks that wake at the same instant repeatable.

    In virtual time many timers fall due at the very same instant (a fleet slot, a detector
    deadline, the notifier's batching window), and trio orders them by two things that differ
    from run to run: a shuffle from an unseeded generator, and the ``id()`` of cancel scopes
    as the deadline heap's tie-breaker. Seeding the one and replacing the other with a counter
    makes the same scenario and seed give the same run, event for event, in any process.
    Both are private to trio: if they are not found, runs still pass the same checks, only
    the order of simultaneous events may vary.
    """
    core = getattr(getattr(trio, "_core", None), "_run", None)
    scheduler_rng = getattr(core, "_r", None)
    deadlines = getattr(core, "Deadlines", None)
    original = getattr(deadlines, "add", None)
    if isinstance(scheduler_rng, random.Random):
        scheduler_rng.seed(seed)
    if deadlines is None or original is None:
        yield
        return
    order = itertools.count()

    def add(self: Any, deadline: float, cancel_scope: trio.CancelScope) -> None:
        heapq.heappush(self._heap, (deadline, next(order), cancel_scope))
        self._active += 1

    deadlines.add = add
    try:
        yield
    finally:
        deadlines.add = original


def tracker_params(scenario: Scenario, sm_url: str) -> Params:
    """The tracker's starting parameters for ``scenario``, reporting to ``sm_url``.

    Raises:
        HbtdError: the tracker refuses them (for example a fractional Warntime).
    """
    return DEFAULT_PARAMS.patched({**scenario.tracker.as_params(), "Sm_url": sm_url})


def param_epochs(scenario: Scenario) -> list[ParamEpoch]:
    """Warntime and Errtime over the run, as the timeline's ``params`` events change them."""
    warn, err = scenario.tracker.warntime, scenario.tracker.errtime
    epochs = [ParamEpoch(0.0, warn, err)]
    for event in scenario.timeline:
        if isinstance(event, ParamsPatch):
            warn = float(event.params.get("Warntime", warn))
            err = float(event.params.get("Errtime", err))
            epochs.append(ParamEpoch(event.at, warn, err))
    return epochs


def faulted_intervals(scenario: Scenario) -> list[tuple[float, float]]:
    """When HSM is down, unready or answering errors, per the scenario."""
    out: list[tuple[float, float]] = []
    since = 0.0 if _faulted(scenario.hsm.faults) else None
    for event in scenario.timeline:
        if not isinstance(event, HsmChange):
            continue
        bad = _faulted(event.faults)
        if bad and since is None:
            since = event.at
        elif not bad and since is not None:
            out.append((since, event.at))
            since = None
    if since is not None:
        out.append((since, scenario.duration))
    return out


def _faulted(faults: Faults) -> bool:
    return faults.mode != "ok"


def describe_event(event: Event) -> str:
    """A short label for the timeline picture and the log."""
    match event:
        case NodesDie() | NodesRevive() | NodesFlap() | PartitionNodes() | HealPartition():
            return f"{event.kind} {event.nodes.describe()}"
        case DelayHeartbeats():
            return f"delay {event.nodes.describe()} by {event.by:g}s"
        case HsmChange():
            faults = event.faults
            extra = []
            if faults.latency_ms:
                extra.append(f"latency {faults.latency_ms / 1000:g}s")
            if faults.error_rate:
                extra.append(f"errors {faults.error_rate:.0%}")
            return "hsm " + ", ".join([faults.mode, *extra])
        case TrackerRestart():
            return f"tracker restart ({event.downtime:g}s away)"
        case ParamsPatch():
            return "params " + ", ".join(f"{k}={v}" for k, v in event.params.items())
    return event.kind  # pragma: no cover


def spread_times(
    scenario: Scenario, event: NodesDie | NodesRevive, nodes: Sequence[str]
) -> list[tuple[float, list[str]]]:
    """When each node of a die/revive acts: ``at``, or seeded times over ``spread``."""
    if event.spread <= 0:
        return [(event.at, list(nodes))]
    rng = random.Random(f"{scenario.seed}/spread/{event.line}")
    groups: dict[float, list[str]] = {}
    for xname in nodes:
        groups.setdefault(event.at + rng.uniform(0.0, event.spread), []).append(xname)
    return sorted(groups.items())


class _VirtualPlayer:
    """One virtual run: owns the model, the tracker, the fleet and what they record."""

    def __init__(self, scenario: Scenario, options: RunOptions) -> None:
        self.scenario = scenario
        self.options = options
        self.selection: Selection = scenario.selection()
        self.hsm: MockHsm = scenario.mock_hsm(self.selection)
        fleet = frozenset(scenario.fleet.nodes)
        self.hsm_initial = {
            x: (c.state, c.flag) for x, c in self.hsm.components.items() if x in fleet
        }
        self.truth = Truth(
            scenario.fleet.nodes,
            (scenario.hsm.initial_state, scenario.hsm.initial_flag),
            param_epochs(scenario),
        )
        self.params = tracker_params(scenario, VIRTUAL_HSM + "/hsm/v2")
        self.engine: Engine | None = None
        self.tracker_down: list[tuple[float, float]] = []
        self.heartbeating: dict[int, list[tuple[float, dict[str, bool]]]] = {}
        self.marks: list[TimelineMark] = []
        self.index = {x: i for i, x in enumerate(scenario.fleet.nodes)}
        self.fleet: VirtualFleet | None = None
        self.snapshots = SnapshotBuilder(
            title=scenario.name,
            duration=scenario.duration,
            nodes=scenario.fleet.nodes,
            hsm=self.hsm,
        )
        self.start = 0.0
        self._last_snapshot_wall = -math.inf

    def now(self) -> float:
        return trio.current_time() - self.start

    async def main(self) -> None:
        scenario = self.scenario
        self.start = trio.current_time()
        app: Any = create_mock_hsm_app(self.hsm, clock=self.now)
        max_delay = max(
            (e.by for e in scenario.timeline if isinstance(e, DelayHeartbeats)), default=0.0
        )
        self.fleet = VirtualFleet(
            nodes=scenario.fleet.nodes,
            agents=scenario.agents,
            truth=self.truth,
            rng=random.Random(f"{scenario.seed}/fleet"),
            start=self.start,
            slot=self.options.slot,
            max_delay=max_delay,
        )
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client,
            trio.open_nursery() as nursery,
        ):
            if self.hsm.power_polling:
                nursery.start_soon(partial(run_power_polling, self.hsm, clock=self.now))
            tracker_scope = await nursery.start(self._run_tracker, client)
            await nursery.start(self.fleet.run)
            for index, exp in enumerate(scenario.expectations):
                if exp.heartbeating is not None:
                    nursery.start_soon(self._sample_heartbeating, index)
            if self.options.on_snapshot is not None:
                nursery.start_soon(self._snapshots)
            for event in scenario.timeline:
                await trio.sleep_until(self.start + event.at)
                self.marks.append(TimelineMark(event.at, describe_event(event)))
                await self._apply(event, nursery, client, tracker_scope)
            await trio.sleep_until(self.start + scenario.duration)
            self.fleet.deliver = _drop
            nursery.cancel_scope.cancel()
        self._snapshot(force=True)

    # -- the tracker ----------------------------------------------------------------------

    async def _run_tracker(
        self,
        client: httpx.AsyncClient,
        *,
        task_status: trio.TaskStatus[list[trio.CancelScope]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        # The holder lets a restart cancel the current tracker and start a new one.
        holder: list[trio.CancelScope] = []
        async with trio.open_nursery() as nursery:
            holder.append(await nursery.start(self._tracker_life, client))
            task_status.started(holder)

    async def _tracker_life(
        self,
        client: httpx.AsyncClient,
        *,
        task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        with trio.CancelScope() as scope:
            assert self.fleet is not None
            engine = self.options.engine_factory(self.params, self.fleet.clock)
            self.engine = engine
            self.fleet.deliver = engine.heartbeat
            async with trio.open_nursery() as nursery:
                await nursery.start(run_tracker_tasks, engine, client)
                task_status.started(scope)

    async def _restart_tracker(
        self,
        event: TrackerRestart,
        nursery: trio.Nursery,
        client: httpx.AsyncClient,
        holder: list[trio.CancelScope],
    ) -> None:
        assert self.fleet is not None
        holder[-1].cancel()
        self.fleet.deliver = _drop
        self.engine = None
        self.snapshots.notice = "tracker restarting"
        down = self.now()
        await trio.sleep(event.downtime)
        self.tracker_down.append((down, self.now()))
        self.snapshots.notice = ""
        # A new Engine: the memory store is gone, as with upstream's in-memory mode.
        holder.append(await nursery.start(self._tracker_life, client))

    # -- the timeline ---------------------------------------------------------------------

    async def _apply(
        self,
        event: Event,
        nursery: trio.Nursery,
        client: httpx.AsyncClient,
        tracker: list[trio.CancelScope],
    ) -> None:
        fleet = self.fleet
        assert fleet is not None
        resolve = self.selection.resolve
        match event:
            case NodesDie():
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._die, names))
            case NodesRevive():
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._revive, names))
            case NodesFlap():
                names = list(resolve(event.nodes))
                for stop, back in event.cycles():
                    nursery.start_soon(self._at, stop, partial(self._die, names, power=False))
                    nursery.start_soon(self._at, back, partial(self._revive, names, power=False))
            case PartitionNodes():
                fleet.cut(self._indexes(resolve(event.nodes)), lost=True)
            case HealPartition():
                fleet.cut(self._indexes(resolve(event.nodes)), lost=False)
            case DelayHeartbeats():
                nodes = self._indexes(resolve(event.nodes))
                fleet.delay(nodes, event.by)
                if event.duration is not None:
                    nursery.start_soon(
                        self._at, event.at + event.duration, partial(fleet.delay, nodes, 0.0)
                    )
            case HsmChange():
                self.hsm.set_faults(event.faults)
                self.snapshots.notice = (
                    "" if event.faults.mode == "ok" else "HSM " + (event.faults.mode)
                )
            case TrackerRestart():
                nursery.start_soon(self._restart_tracker, event, nursery, client, tracker)
            case ParamsPatch():
                self.params = self.params.patched(dict(event.params))
                if self.engine is not None:
                    self.engine.set_params(self.params)

    def _indexes(self, names: Sequence[str]) -> list[int]:
        return [self.index[x] for x in names]

    async def _at(self, at: float, action: Callable[[], None]) -> None:
        await trio.sleep_until(self.start + at)
        action()

    def _die(self, names: Sequence[str], *, power: bool = True) -> None:
        assert self.fleet is not None
        self.fleet.stop(self._indexes(names))
        if power and self.hsm.power_polling:
            self.hsm.set_power(names, on=False)

    def _revive(self, names: Sequence[str], *, power: bool = True) -> None:
        assert self.fleet is not None
        if power and self.hsm.power_polling:
            self.hsm.set_power(names, on=True)
        self.fleet.revive(self._indexes(names), self.now())

    # -- sampling -------------------------------------------------------------------------

    async def _sample_heartbeating(self, index: int) -> None:
        exp = self.scenario.expectations[index]
        names = self.selection.resolve(exp.nodes)
        samples = self.heartbeating.setdefault(index, [])
        times = (
            [exp.at]
            if exp.at is not None
            else _frange(exp.after, exp.deadline, HEARTBEATING_SAMPLE)
        )
        for at in times:
            await trio.sleep_until(self.start + at)
            engine = self.engine
            samples.append(
                (at, {x: engine is not None and engine.is_heartbeating(x) for x in names})
            )

    async def _snapshots(self) -> None:
        while True:
            await trio.sleep(self.options.snapshot_period)
            self._snapshot()

    def _snapshot(self, *, force: bool = False) -> None:
        hook = self.options.on_snapshot
        if hook is None:
            return
        now = wall.monotonic()
        if not force and now - self._last_snapshot_wall < self.options.snapshot_min_wall_gap:
            return
        self._last_snapshot_wall = now
        hook(self.snapshots.build(min(self.now(), self.scenario.duration)))

    # -- the end --------------------------------------------------------------------------

    def result(self, wall_seconds: float) -> RunResult:
        scenario = self.scenario
        end = scenario.duration
        self.truth.close(end)
        record = RunRecord(
            scenario=scenario,
            selection=self.selection,
            end=end,
            truth=self.truth,
            hsm_initial=self.hsm_initial,
            changes=self.hsm.changes(),
            requests=self.hsm.requests(),
            heartbeating=self.heartbeating,
            hsm_faulted=faulted_intervals(scenario),
            tracker_down=self.tracker_down,
        )
        fleet = self.fleet
        return RunResult(
            scenario=scenario,
            clock="virtual",
            verdicts=tuple(judge(record)),
            record=record,
            wall_seconds=wall_seconds,
            heartbeats_sent=fleet.sent if fleet else 0,
            heartbeats_delivered=fleet.delivered if fleet else 0,
            marks=tuple(self.marks),
            target="in-process Engine",
        )


def _drop(_heartbeat: object) -> None:
    pass


def _frange(start: float, stop: float, step: float) -> list[float]:
    count = int((stop - start) / step)
    times = [start + i * step for i in range(count + 1)]
    return times if times[-1] >= stop else [*times, stop]

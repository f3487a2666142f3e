"""The timeline player: one scenario's events, at their times, on a fleet and a rig.

Theory of operation: the player is the same for both clocks. It sleeps until each event of
the timeline, records a ``TimelineMark`` and pulls the levers: the fleet's (``HeartbeatFleet``:
stop, revive, shut down, cut, delay) and the rig's (``Rig``: the mock HSM's faults and power,
the tracker's restarts and parameters, its ``Heartbeating``). A virtual run gives it a
``VirtualFleet`` and an in-process tracker; a live run a ``LiveFleet`` and real processes.
Meanwhile it samples ``Heartbeating`` for the expectations that ask, and hands snapshots to
the live view. Times are seconds from ``start`` (trio time of time 0).
"""

from __future__ import annotations

import dataclasses
import math
import time as wall
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Final, Protocol

import trio

from .. import scenario as sc  # the event classes ``_apply`` matches
from ..fleet import HeartbeatFleet
from ..hsm import Faults, RecordedRequest, StateChange
from ..scenario import Event, Scenario, Selection
from ._record import RunRecord
from ._result import Progress, ProgressHook, RunOptions, TimelineMark
from ._snapshot import SnapshotBuilder
from ._timeline import faulted_intervals, spread_times
from ._truth import Truth

__all__ = ["HEARTBEATING_SAMPLE", "Player", "Rig"]

#: How often a ``by`` window samples the tracker's Heartbeating.
HEARTBEATING_SAMPLE: Final = 0.5


class Rig(Protocol):
    """What a clock's run gives the player besides the fleet: the HSM and the tracker."""

    async def set_faults(self, faults: Faults) -> None:
        """The mock HSM misbehaves (or behaves again) as ``faults`` say."""

    async def set_power(self, names: Sequence[str], *, on: bool) -> None:
        """The nodes' power goes off or on (HSM's power polling sees it)."""

    async def restart_tracker(self, downtime: float) -> None:
        """Stop the tracker, keep it away ``downtime`` seconds, start it again."""

    async def patch_params(self, params: Mapping[str, str]) -> None:
        """Change the tracker's parameters (``PATCH /params``)."""

    async def heartbeating(self, names: Sequence[str]) -> dict[str, bool]:
        """The tracker's ``Heartbeating`` for each of ``names`` (False while it is away)."""

    async def write_state(
        self, names: Sequence[str], state: str, flag: str, *, force: bool
    ) -> None:
        """Another writer's StateData change (HSM's rules; not in HSM's request log)."""

    async def hsm_states(self, names: Sequence[str]) -> dict[str, tuple[str, str]]:
        """HSM's (State, Flag) of each of ``names`` it knows (a backup being taken)."""

    async def restore(self, states: Mapping[str, tuple[str, str]]) -> None:
        """HSM restored from an older copy: these components get these values back."""


class Player:
    """Plays one scenario's timeline.

    Args:
        scenario: what to play.
        selection: its resolver (shared with the checks, so random sets agree).
        fleet: the agents.
        rig: the HSM and the tracker.
        options: the snapshot hook and its pacing.
        snapshots: builds the live view's snapshots; None when there is nothing to show.
        truth: told of other writers' changes to HSM (power events, operators, restores).
    """

    def __init__(
        self,
        scenario: Scenario,
        selection: Selection,
        fleet: HeartbeatFleet,
        rig: Rig,
        options: RunOptions,
        snapshots: SnapshotBuilder | None = None,
        truth: Truth | None = None,
    ) -> None:
        self.scenario = scenario
        self.truth = truth
        self._backups: dict[int, dict[str, tuple[str, str]]] = {}
        self.selection = selection
        self.fleet = fleet
        self.rig = rig
        self.options = options
        self.snapshots = snapshots
        self.start = 0.0
        self.marks: list[TimelineMark] = []
        self.tracker_down: list[tuple[float, float]] = []
        self.heartbeating: dict[int, list[tuple[float, dict[str, bool]]]] = {}
        self._index = {x: i for i, x in enumerate(scenario.fleet.nodes)}
        self._last_snapshot_wall = -math.inf

    def now(self) -> float:
        """Seconds since the start of the run."""
        return trio.current_time() - self.start

    async def play(self, start: float) -> None:
        """Play the timeline from ``start`` (trio time) until the scenario's end."""
        self.start = start
        scenario = self.scenario
        async with trio.open_nursery() as nursery:
            for index, exp in enumerate(scenario.expectations):
                if exp.heartbeating is not None:
                    nursery.start_soon(self._sample_heartbeating, index)
            if self.options.on_snapshot is not None and self.snapshots is not None:
                nursery.start_soon(self._snapshot_task)
            if self.options.on_progress is not None:
                nursery.start_soon(self._progress_task, self.options.on_progress)
            for event in scenario.timeline:
                if isinstance(event, sc.RestoreHsm):
                    nursery.start_soon(self._at, event.source, partial(self._backup, event))
            for event in scenario.timeline:
                await trio.sleep_until(start + event.at)
                self.marks.append(TimelineMark(event.at, event.describe()))
                await self._apply(event, nursery)
            await trio.sleep_until(start + scenario.duration)
            nursery.cancel_scope.cancel()

    def record(
        self,
        truth: Truth,
        hsm_initial: Mapping[str, tuple[str, str]],
        changes: Sequence[StateChange],
        requests: Sequence[RecordedRequest],
    ) -> RunRecord:
        """What the run leaves for the checks: the play's samples and what HSM saw.

        Args:
            truth: every node's truth; closed here at the scenario's end.
            hsm_initial: (State, Flag) of every fleet node HSM knew at the start.
            changes: HSM's state changes.
            requests: every request HSM received.

        Returns:
            The record ``judge`` reads.
        """
        scenario = self.scenario
        truth.close(scenario.duration)
        return RunRecord(
            scenario=scenario,
            selection=self.selection,
            end=scenario.duration,
            truth=truth,
            hsm_initial=hsm_initial,
            changes=changes,
            requests=requests,
            heartbeating=self.heartbeating,
            hsm_faulted=faulted_intervals(scenario),
            tracker_down=self.tracker_down,
            exact_time=self.options.clock == "virtual",
        )

    # -- the timeline ---------------------------------------------------------------------

    async def _apply(self, event: Event, nursery: trio.Nursery) -> None:
        fleet, rig = self.fleet, self.rig
        resolve = self.selection.resolve
        match event:
            case sc.NodesDie():
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._die, names, True))
            case sc.NodesRevive():
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._revive, names, True))
            case sc.NodesFlap():
                names = list(resolve(event.nodes))
                for stop, back in event.cycles():
                    nursery.start_soon(self._at, stop, partial(self._die, names, False))
                    nursery.start_soon(self._at, back, partial(self._revive, names, False))
            case sc.NodesShutdown():
                fleet.shut_down(self._indexes(resolve(event.nodes)))
            case sc.PartitionNodes():
                fleet.cut(self._indexes(resolve(event.nodes)), lost=True)
            case sc.HealPartition():
                fleet.cut(self._indexes(resolve(event.nodes)), lost=False)
            case sc.DelayHeartbeats():
                nodes = self._indexes(resolve(event.nodes))
                fleet.delay(nodes, event.by)
                if event.duration is not None:
                    nursery.start_soon(
                        self._at, event.at + event.duration, partial(self._undelay, nodes)
                    )
            case sc.HsmChange():
                faults = event.faults
                if event.refuse is not None:
                    faults = dataclasses.replace(
                        faults, refuse_ids=frozenset(resolve(event.refuse))
                    )
                await rig.set_faults(faults)
                self._notice("" if event.faults.mode == "ok" else f"HSM {event.faults.mode}")
            case sc.TrackerRestart():
                nursery.start_soon(self._restart, event.downtime)
            case sc.ParamsPatch():
                await rig.patch_params(event.params)
            case sc.PowerOff() | sc.PowerOn():
                on = isinstance(event, sc.PowerOn)
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._power, names, on))
            case sc.OperatorPatch():
                await self._write(resolve(event.nodes), event.state, event.flag, force=event.force)
            case sc.RestoreHsm():
                states = self._backups.pop(event.line, {})
                await rig.restore(states)
                if self.truth is not None:
                    now, index = self.now(), self.truth.index
                    for xname, (state, flag) in states.items():
                        self.truth.restored(index[xname], now, state, flag)

    def _indexes(self, names: Sequence[str]) -> list[int]:
        return [self._index[x] for x in names]

    def _notice(self, text: str) -> None:
        if self.snapshots is not None:
            self.snapshots.notice = text

    async def _at(self, at: float, action: Callable[[], Awaitable[None]]) -> None:
        await trio.sleep_until(self.start + at)
        await action()

    async def _die(self, names: Sequence[str], power: bool) -> None:
        self.fleet.stop(self._indexes(names))
        if power and self.scenario.hsm.power_polling:
            await self.rig.set_power(names, on=False)

    async def _revive(self, names: Sequence[str], power: bool) -> None:
        if power and self.scenario.hsm.power_polling:
            await self.rig.set_power(names, on=True)
        self.fleet.revive(self._indexes(names))

    async def _power(self, names: Sequence[str], on: bool) -> None:
        # A Redfish power event: HSM sets Off (or On) by its own table; a node without
        # power cannot beat, and one powered on beats only once booted (a ``revive``).
        if not on:
            self.fleet.stop(self._indexes(names))
        await self._write(names, "On" if on else "Off", "OK", force=False)
        await self.rig.set_power(names, on=on)

    async def _write(self, names: Sequence[str], state: str, flag: str, *, force: bool) -> None:
        await self.rig.write_state(names, state, flag, force=force)
        if self.truth is not None:
            now, index = self.now(), self.truth.index
            for xname in names:
                self.truth.written(index[xname], now, state, flag, force=force)

    async def _backup(self, event: sc.RestoreHsm) -> None:
        self._backups[event.line] = await self.rig.hsm_states(self.scenario.fleet.nodes)

    async def _undelay(self, nodes: Sequence[int]) -> None:
        self.fleet.delay(nodes, 0.0)

    async def _restart(self, downtime: float) -> None:
        down = self.now()
        self._notice("tracker restarting")
        await self.rig.restart_tracker(downtime)
        self.tracker_down.append((down, self.now()))
        self._notice("")

    # -- sampling -------------------------------------------------------------------------

    async def _sample_heartbeating(self, index: int) -> None:
        exp = self.scenario.expectations[index]
        names = list(self.selection.resolve(exp.nodes))
        samples = self.heartbeating.setdefault(index, [])
        times = (
            [exp.at]
            if exp.at is not None
            else _frange(exp.after, exp.deadline, HEARTBEATING_SAMPLE)
        )
        for at in times:
            await trio.sleep_until(self.start + at)
            samples.append((at, await self.rig.heartbeating(names)))

    async def _progress_task(self, hook: ProgressHook) -> None:
        last = wall.monotonic()
        while True:
            await trio.sleep(1.0)
            now = wall.monotonic()
            if now - last >= self.options.progress_min_wall_gap:
                last = now
                hook(
                    Progress(
                        self.scenario.name,
                        min(self.now(), self.scenario.duration),
                        self.scenario.duration,
                        self.fleet.delivered,
                    )
                )

    async def _snapshot_task(self) -> None:
        # Periodic snapshots stop short of the end: the run's final, forced snapshot shows it.
        # A periodic one due at the very end would race the run's close under virtual time and
        # show up once or twice depending on which task trio wakes first.
        period = self.options.snapshot_period
        if period <= 0:
            return
        due = period
        while due < self.scenario.duration:
            await trio.sleep_until(self.start + due)
            self.snapshot()
            due += period

    def snapshot(self, *, force: bool = False) -> None:
        """Hand a snapshot to the hook, at most once per ``snapshot_min_wall_gap`` unless forced."""
        hook = self.options.on_snapshot
        if hook is None or self.snapshots is None:
            return
        now = wall.monotonic()
        if not force and now - self._last_snapshot_wall < self.options.snapshot_min_wall_gap:
            return
        self._last_snapshot_wall = now
        hook(self.snapshots.build(min(max(self.now(), 0.0), self.scenario.duration)))


def _frange(start: float, stop: float, step: float) -> list[float]:
    count = int((stop - start) / step)
    times = [start + i * step for i in range(count + 1)]
    return times if times[-1] >= stop else [*times, stop]

"""Playing a scenario in live time: real sockets, a real tracker process, real seconds.

Theory of operation: the runner serves the mock HSM in process on a loopback port (or, with
``--target`` and ``--hsm``, drives one served elsewhere through its ``/mock`` API), starts
``hbtd`` on another port reporting to it (or uses ``--target``), sets the scenario's
parameters with ``PATCH /params``, and plays the fleet with a ``LiveFleet``: a few keep-alive
trio + httptools connections, each serving its share of the nodes from a deadline heap. The
``Player`` plays the timeline on the fleet and on this run's rig (HSM and tracker). At the end
the same ``RunRecord`` as in virtual time is built and judged.

Times are seconds from the start of the run, from trio's clock; the mock HSM served here uses
the same clock, and a remote one stamps wall-clock seconds, which are shifted by the wall time
of the start.
"""

from __future__ import annotations

import time as wall
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Final
from urllib.parse import urlsplit

import httpx
import trio

from hb_agent import bound_for_items
from hbtd_server.core import describe_error

from ..errors import HbSimError
from ..fleet import LiveFleet
from ..hsm import Faults, serve_mock_hsm
from ..scenario import Scenario, TrackerRestart
from ._checks import judge
from ._live_hsm import LiveHsm, LocalHsm, RemoteHsm
from ._live_tracker import TrackerProcess
from ._player import Player
from ._reads import call
from ._result import RunOptions, RunResult
from ._snapshot import SnapshotBuilder
from ._timeline import cadence, param_epochs
from ._truth import Truth

__all__ = ["run_live"]

#: Most names asked in one ``POST /hbstates``.
HBSTATES_BATCH: Final = 5000


async def run_live(scenario: Scenario, options: RunOptions) -> RunResult:
    """Play ``scenario`` in live time (see the module docstring).

    Raises:
        HbSimError: the scenario needs what this setup cannot do (a tracker restart against
            ``--target``, an ``https://`` target), or the tracker or HSM refused their setup or
            could not be reached (with the reason, a TLS one included).
    """
    if options.target is not None and any(isinstance(e, TrackerRestart) for e in scenario.timeline):
        raise HbSimError("tracker_restart needs a tracker the runner starts (no --target)")
    if options.target is not None and urlsplit(options.target).scheme == "https":
        # The fleet's lean client has no TLS: every heartbeat would be refused.
        raise HbSimError(
            f"--target {options.target}: the live fleet sends plain HTTP; give the tracker's "
            "http:// URL"
        )
    try:
        return await _LiveRun(scenario, options).main()
    except Exception as exc:
        error = _setup_error(exc)
        if error is None:
            raise
        raise error from None


def _setup_error(exc: BaseException) -> HbSimError | None:
    """The one error of the rig behind ``exc`` (a nursery wraps it in a group), as an
    :class:`HbSimError` that says why; None when ``exc`` is something else (a bug)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, HbSimError):
        return exc
    if isinstance(exc, httpx.HTTPError):
        try:
            where = f"{exc.request.method} {exc.request.url}: "
        except RuntimeError:  # an error raised without its request
            where = ""
        return HbSimError(f"{where}{describe_error(exc)}")
    return None


class _LiveRun:
    def __init__(self, scenario: Scenario, options: RunOptions) -> None:
        self.scenario = scenario
        self.options = options
        self.selection = scenario.selection()
        self.truth = Truth(
            scenario.fleet.nodes,
            (scenario.hsm.initial_state, scenario.hsm.initial_flag),
            param_epochs(scenario),
            reconcile=scenario.tracker.reconcile,
        )
        self.params = {k: v for k, v in scenario.tracker.as_params().items() if k != "Sm_url"}
        self.start = 0.0
        self.tracker: TrackerProcess | None = None
        self.hsm: LiveHsm | None = None
        self._client: httpx.AsyncClient | None = None

    def now(self) -> float:
        return trio.current_time() - self.start

    async def main(self) -> RunResult:
        scenario, options = self.scenario, self.options
        started = wall.perf_counter()
        self.start = trio.current_time()
        wall_start = wall.time()
        unknown = (
            set(self.selection.resolve(scenario.hsm.unknown)) if scenario.hsm.unknown else set()
        )
        initial = {
            x: (scenario.hsm.initial_state, scenario.hsm.initial_flag)
            for x in scenario.fleet.nodes
            if x not in unknown
        }
        snapshots: SnapshotBuilder | None = None
        async with (
            httpx.AsyncClient(timeout=10.0) as client,
            trio.open_nursery() as nursery,
        ):
            self._client = client
            if options.hsm is not None:
                remote = RemoteHsm(options.hsm, client, wall_start)
                await remote.prepare(scenario, initial)
                self.hsm = remote
            else:
                model = scenario.mock_hsm(self.selection)
                urls: list[str] = await nursery.start(
                    partial(serve_mock_hsm, model, host="127.0.0.1", port=0, clock=self.now)
                )
                self.hsm = LocalHsm(model, urls[0], self.now)
                snapshots = SnapshotBuilder(
                    title=scenario.name,
                    duration=scenario.duration,
                    nodes=scenario.fleet.nodes,
                    hsm=model,
                )
                # The tracker reports here: a started hbtd gets it as --sm_url too, a
                # --target gets it with its other parameters (Sm_url is PATCHable).
                self.params["Sm_url"] = f"{urls[0]}/hsm/v2"
            tracker = TrackerProcess(
                target=options.target,
                hsm_url=self.hsm.url,
                extra=options.hbtd_args,
                log_dir=options.log_dir,
                ports=options.ports,
            )
            self.tracker = tracker
            fleet = LiveFleet(
                targets=[tracker.base],
                xnames=scenario.fleet.nodes,
                route=scenario.agents.route,
                connections=options.connections,
                log=self.truth,
                **cadence(scenario),
            )
            player = Player(
                scenario, self.selection, fleet, self, options, snapshots, truth=self.truth
            )
            try:
                await tracker.start(client, self.params)
                # Time 0 is when the tracker is ready: its start-up is not part of the story.
                self.start = trio.current_time()
                if isinstance(self.hsm, RemoteHsm):
                    self.hsm.wall_start = wall.time()
                fleet_scope = trio.CancelScope()
                nursery.start_soon(self._run_fleet, fleet, fleet_scope)
                await player.play(self.start)
                fleet_scope.cancel()  # the story ends here: no heartbeat after the end
                changes, requests = await self.hsm.records()
            finally:
                with trio.CancelScope(shield=True):
                    await tracker.stop()
                    note = await tracker.restore(client, keep=options.keep_params)
                    if note is not None and options.on_note is not None:
                        options.on_note(note)
            nursery.cancel_scope.cancel()
        player.snapshot(force=True)
        record = player.record(self.truth, initial, changes, requests)
        gaps = fleet.gaps()
        return RunResult(
            scenario=scenario,
            clock="live",
            verdicts=tuple(judge(record)),
            record=record,
            wall_seconds=wall.perf_counter() - started,
            heartbeats_sent=fleet.sent,
            heartbeats_delivered=fleet.delivered,
            heartbeats_failed=fleet.failed,
            marks=tuple(player.marks),
            target=tracker.base if not tracker.owned else f"hbtd process at {tracker.base}",
            fleet_gaps=tuple(gaps),
            fleet_behind=any(g.gap >= self.truth.min_warntime for g in gaps),
        )

    async def _run_fleet(self, fleet: LiveFleet, scope: trio.CancelScope) -> None:
        with scope:
            await fleet.run(self.start)

    # -- the rig (see Player) -------------------------------------------------------------

    async def set_faults(self, faults: Faults) -> None:
        assert self.hsm is not None
        await self.hsm.set_faults(faults)

    async def set_power(self, names: Sequence[str], *, on: bool) -> None:
        assert self.hsm is not None
        await self.hsm.set_power(names, on=on)

    async def write_state(
        self, names: Sequence[str], state: str, flag: str, *, force: bool
    ) -> None:
        assert self.hsm is not None
        await self.hsm.write_state(names, state, flag, force=force)

    async def hsm_states(self, names: Sequence[str]) -> dict[str, tuple[str, str]]:
        assert self.hsm is not None
        return await self.hsm.states(names)

    async def restore(self, states: Mapping[str, tuple[str, str]]) -> None:
        assert self.hsm is not None
        await self.hsm.restore(states)

    async def restart_tracker(self, downtime: float) -> None:
        tracker, client = self.tracker, self._client
        assert tracker is not None
        assert client is not None
        down = self.now()
        await tracker.stop()
        await trio.sleep(max(0.0, downtime - (self.now() - down)))
        await tracker.start(client, self.params)

    async def patch_params(self, params: Mapping[str, str]) -> None:
        assert self.tracker is not None
        assert self._client is not None
        self.params.update(params)
        await self.tracker.patch(self._client, dict(params))

    async def heartbeating(self, names: Sequence[str]) -> dict[str, bool]:
        assert self.tracker is not None
        assert self._client is not None
        seen: dict[str, bool] = {}
        for first in range(0, len(names), HBSTATES_BATCH):
            batch = list(names[first : first + HBSTATES_BATCH])
            try:
                answer = await call(
                    self._client,
                    "POST",
                    f"{self.tracker.base}/hmi/v1/hbstates",
                    limit=bound_for_items(len(batch)),
                    json={"XNames": batch},
                )
                states = answer.json()["HBStates"]
            except (httpx.HTTPError, HbSimError, ValueError, KeyError):
                states = []
            seen.update({s["XName"]: bool(s["Heartbeating"]) for s in states})
        return {x: seen.get(x, False) for x in names}

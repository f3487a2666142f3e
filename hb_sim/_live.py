"""Playing a scenario in live time: real sockets, a real tracker process, real seconds.

Theory of operation: the runner serves the mock HSM in process on a loopback port (or, with
``--target`` and ``--hsm``, drives one served elsewhere through its ``/mock`` API), starts
``hbtd`` on another port reporting to it (or uses ``--target``), sets the scenario's
parameters with ``PATCH /params``, and plays the fleet with ``LiveAgents``: a few keep-alive
trio + h11 connections, each serving its share of the nodes from a deadline heap. The
timeline's events act on the agents, the mock HSM and the tracker process at their times.
At the end the same ``RunRecord`` as in virtual time is built and judged.

Times are seconds from the start of the run, from trio's clock; the mock HSM served here uses
the same clock, and a remote one stamps wall-clock seconds, which are shifted by the wall time
of the start.
"""

from __future__ import annotations

import datetime
import heapq
import math
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time as wall
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx
import trio

from ._checks import RunRecord, judge
from ._errors import HbSimError
from ._h11_client import H11Connection
from ._mock_hsm import Faults, MockHsm, RecordedRequest, StateChange
from ._runner import (
    HEARTBEATING_SAMPLE,
    RunOptions,
    RunResult,
    TimelineMark,
    describe_event,
    faulted_intervals,
    param_epochs,
    spread_times,
)
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
from ._serve import serve_mock_hsm
from ._snapshot import SnapshotBuilder
from ._truth import Truth
from ._xnames import bogus_nid

__all__ = ["LiveAgents", "run_live"]

#: How long a started ``hbtd`` may take to answer its liveness probe.
STARTUP_LIMIT = 20.0
#: Most names asked in one ``POST /hbstates``.
HBSTATES_BATCH = 5000

_DEAD = 1
_CUT = 2


class LiveAgents:
    """Simulated node agents heartbeating a tracker over real sockets.

    Each of ``connections`` tasks owns every ``connections``-th node and sends its heartbeats
    in time order on one keep-alive connection. A heartbeat that is not lost (agent stopped,
    network cut) counts as delivered for the truth when it is sent, whether or not a tracker
    answers (a tracker that is away is not silence).

    Args:
        host: the tracker's address.
        port: the tracker's port.
        scenario: agent timing and route.
        truth: told of every delivered heartbeat.
        rng: seeded generator of phases and jitter.
        clock: seconds since the start of the run.
        connections: keep-alive connections.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        scenario: Scenario,
        truth: Truth,
        rng: random.Random,
        clock: Callable[[], float],
        connections: int,
    ) -> None:
        self.host, self.port = host, port
        self.nodes = scenario.fleet.nodes
        self.agents = scenario.agents
        self.truth = truth
        self.clock = clock
        self.connections = max(1, min(connections, len(self.nodes)))
        self._rng = rng
        self.sent = 0
        self.delivered = 0
        self.answered = 0
        self.failed = 0
        self._mode = [0] * len(self.nodes)
        self._delay = [0.0] * len(self.nodes)
        self._scheduled = [True] * len(self.nodes)
        spread = self.agents.start_spread
        self._heaps: list[list[tuple[float, int, int]]] = [[] for _ in range(self.connections)]
        for node in range(len(self.nodes)):
            first = rng.uniform(0.0, spread) if spread > 0 else 0.0
            self._heaps[node % self.connections].append((first, node, 0))
        for heap in self._heaps:
            heapq.heapify(heap)
        self._pokes = [trio.Event() for _ in range(self.connections)]

    # -- the timeline's levers ------------------------------------------------------------

    def stop(self, nodes: Sequence[int]) -> None:
        """The agents stop until ``revive``."""
        for node in nodes:
            self._mode[node] |= _DEAD

    def revive(self, nodes: Sequence[int]) -> None:
        """The agents run again and send at once."""
        now = self.clock()
        for node in nodes:
            self._mode[node] &= ~_DEAD
            if not self._scheduled[node]:
                self._scheduled[node] = True
                self._push(node, now, 0)

    def cut(self, nodes: Sequence[int], *, lost: bool) -> None:
        """The network loses (``lost``) or carries again the nodes' heartbeats."""
        for node in nodes:
            self._mode[node] = self._mode[node] | _CUT if lost else self._mode[node] & ~_CUT

    def delay(self, nodes: Sequence[int], by: float) -> None:
        """From now on the nodes' heartbeats arrive ``by`` seconds late."""
        for node in nodes:
            self._delay[node] = by

    def _push(self, node: int, at: float, kind: int) -> None:
        owner = node % self.connections
        heapq.heappush(self._heaps[owner], (at, node, kind))
        self._pokes[owner].set()

    # -- running --------------------------------------------------------------------------

    async def run(self, start: float) -> None:
        """Send until cancelled; ``start`` is the trio time of time 0."""
        async with trio.open_nursery() as nursery:
            for index in range(self.connections):
                nursery.start_soon(self._connection, index, start)

    async def _connection(self, index: int, start: float) -> None:
        heap = self._heaps[index]
        conn = H11Connection(self.host, self.port)
        interval, jitter = self.agents.interval, self.agents.jitter
        status = self.agents.status
        xname_route = self.agents.route == "xname"
        try:
            while True:
                if not heap:
                    self._pokes[index] = trio.Event()
                    await self._pokes[index].wait()
                    continue
                due = heap[0][0]
                if trio.current_time() < start + due:
                    self._pokes[index] = trio.Event()
                    with trio.move_on_at(start + due):
                        await self._pokes[index].wait()
                    continue
                due, node, kind = heapq.heappop(heap)
                mode = self._mode[node]
                if kind == 0:
                    if mode & _DEAD:
                        self._scheduled[node] = False
                        continue
                    self.sent += 1
                    nominal = due + interval
                    if jitter:
                        nominal += jitter * (2.0 * self._rng.random() - 1.0)
                    heapq.heappush(heap, (max(nominal, due), node, 0))
                    if mode & _CUT:
                        continue
                    if self._delay[node] > 0:
                        heapq.heappush(heap, (due + self._delay[node], node, 1))
                        continue
                self.truth.delivered(node, self.clock())
                self.delivered += 1
                await self._post(conn, self.nodes[node], status, xname_route)
        finally:
            with trio.CancelScope(shield=True):
                await conn.aclose()

    async def _post(self, conn: H11Connection, xname: str, status: str, xname_route: bool) -> None:
        stamp = datetime.datetime.now(datetime.UTC).isoformat()
        if xname_route:
            path = f"/hmi/v1/heartbeat/{xname}"
            body = b'{"Status":"%s","TimeStamp":"%s"}' % (status.encode(), stamp.encode())
        else:
            path = "/hmi/v1/heartbeat"
            body = (
                b'{"Component":"%s","Hostname":"%s","NID":"%d","Status":"%s","TimeStamp":"%s"}'
                % (xname.encode(), xname.encode(), bogus_nid(xname) or 0, status.encode(),
                   stamp.encode())
            )  # fmt: skip
        try:
            code, _ = await conn.post(path, body)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            # The tracker is away (a restart) or went away mid-answer: like a real agent,
            # try again at the next heartbeat.
            self.failed += 1
            await conn.aclose()
            return
        if code == 200:
            self.answered += 1
        else:
            self.failed += 1


# -- the HSM: in process, or another process's /mock API ----------------------------------


class _Hsm:
    """What the live runner needs of the mock HSM."""

    url = ""
    model: MockHsm | None = None

    async def set_faults(self, faults: Faults) -> None:
        raise NotImplementedError

    async def set_power(self, ids: Sequence[str], *, on: bool) -> None:
        raise NotImplementedError

    async def records(self) -> tuple[list[StateChange], list[RecordedRequest]]:
        raise NotImplementedError


class _LocalHsm(_Hsm):
    def __init__(self, model: MockHsm, url: str) -> None:
        self.model = model
        self.url = url

    async def set_faults(self, faults: Faults) -> None:
        assert self.model is not None
        self.model.set_faults(faults)

    async def set_power(self, ids: Sequence[str], *, on: bool) -> None:
        assert self.model is not None
        self.model.set_power(ids, on=on)

    async def records(self) -> tuple[list[StateChange], list[RecordedRequest]]:
        assert self.model is not None
        return self.model.changes(), self.model.requests()


class _RemoteHsm(_Hsm):
    """A mock HSM in another process (``hb-sim mock-hsm``), reached through ``/mock``."""

    def __init__(self, url: str, client: httpx.AsyncClient, wall_start: float) -> None:
        self.url = url.rstrip("/")
        self.client = client
        self.wall_start = wall_start
        self.first_change = 0
        self.first_request = 0

    async def prepare(self, scenario: Scenario, initial: dict[str, tuple[str, str]]) -> None:
        changes = (await self.client.get(f"{self.url}/mock/changes")).json()
        requests = (await self.client.get(f"{self.url}/mock/requests")).json()
        self.first_change = changes[-1]["index"] + 1 if changes else 0
        self.first_request = requests[-1]["index"] + 1 if requests else 0
        components = [{"ID": x, "State": s, "Flag": f} for x, (s, f) in initial.items()]
        answer = await self.client.post(
            f"{self.url}/hsm/v2/State/Components", json={"Components": components, "Force": True}
        )
        if answer.status_code != 204:
            raise HbSimError(f"{self.url} refused the fleet's components: {answer.text[:200]}")
        await self.set_faults(scenario.hsm.faults)

    async def set_faults(self, faults: Faults) -> None:
        await self.client.post(f"{self.url}/mock/faults", json=faults.to_json())

    async def set_power(self, ids: Sequence[str], *, on: bool) -> None:
        await self.client.post(f"{self.url}/mock/power", json={"ids": list(ids), "on": on})

    async def records(self) -> tuple[list[StateChange], list[RecordedRequest]]:
        shift = self.wall_start
        raw_changes = (
            await self.client.get(f"{self.url}/mock/changes", params={"since": self.first_change})
        ).json()
        raw_requests = (
            await self.client.get(f"{self.url}/mock/requests", params={"since": self.first_request})
        ).json()
        changes = [
            StateChange(c["index"], c["time"] - shift, tuple(c["ids"]), c["state"], c["flag"])
            for c in raw_changes
        ]
        requests = [
            RecordedRequest(
                index=r["index"],
                time=r["time"] - shift,
                method=r["method"],
                path=r["path"],
                query={k: tuple(v) for k, v in r["query"].items()},
                body=r["body"],
                raw_body=r["raw_body"],
                status=r["status"],
            )
            for r in raw_requests
        ]
        return changes, requests


# -- the tracker: a started hbtd, or --target ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Tracker:
    """The tracker under test: its base URL, and how to (re)start it when it is ours."""

    def __init__(
        self, *, target: str | None, hsm_url: str, extra: Sequence[str], log_dir: str | None
    ) -> None:
        self.owned = target is None
        self.port = _free_port() if target is None else (urlsplit(target).port or 80)
        self.host = "127.0.0.1" if target is None else (urlsplit(target).hostname or "127.0.0.1")
        self.base = f"http://{self.host}:{self.port}" if target is None else target.rstrip("/")
        self.hsm_url = hsm_url
        self.extra = tuple(extra)
        self.process: trio.Process | None = None
        folder = Path(log_dir) if log_dir else Path(tempfile.gettempdir())
        self.log = folder / ("tracker.log" if log_dir else f"hb-sim-hbtd-{self.port}.log")

    async def start(self, client: httpx.AsyncClient, params: dict[str, str]) -> None:
        if self.owned:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("ab") as log:
                self.process = await trio.lowlevel.open_process(
                    [
                        sys.executable,
                        "-m",
                        "hbtd_server",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--sm_url",
                        f"{self.hsm_url}/hsm/v2",
                        "--use_telemetry",
                        "false",
                        *self.extra,
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        await self._wait_live(client)
        answer = await client.patch(f"{self.base}/hmi/v1/params", json=params)
        if answer.status_code != 200:
            raise HbSimError(f"PATCH /params refused: {answer.status_code} {answer.text[:200]}")

    async def _wait_live(self, client: httpx.AsyncClient) -> None:
        with trio.fail_after(STARTUP_LIMIT):
            while True:
                try:
                    answer = await client.get(f"{self.base}/hmi/v1/liveness")
                    if answer.status_code == 204:
                        return
                except httpx.TransportError:
                    pass
                await trio.sleep(0.05)

    async def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        with trio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()


# -- the run --------------------------------------------------------------------------------


async def run_live(scenario: Scenario, options: RunOptions) -> RunResult:
    """Play ``scenario`` in live time (see the module docstring).

    Raises:
        HbSimError: the scenario needs what this setup cannot do (a tracker restart against
            ``--target``), or the tracker or HSM refused their setup.
    """
    if options.target is not None and any(isinstance(e, TrackerRestart) for e in scenario.timeline):
        raise HbSimError("tracker_restart needs a tracker the runner starts (no --target)")
    player = _LivePlayer(scenario, options)
    return await player.main()


class _LivePlayer:
    def __init__(self, scenario: Scenario, options: RunOptions) -> None:
        self.scenario = scenario
        self.options = options
        self.selection = scenario.selection()
        self.index = {x: i for i, x in enumerate(scenario.fleet.nodes)}
        self.truth = Truth(
            scenario.fleet.nodes,
            (scenario.hsm.initial_state, scenario.hsm.initial_flag),
            param_epochs(scenario),
        )
        self.params = {k: v for k, v in scenario.tracker.as_params().items() if k != "Sm_url"}
        self.marks: list[TimelineMark] = []
        self.tracker_down: list[tuple[float, float]] = []
        self.heartbeating: dict[int, list[tuple[float, dict[str, bool]]]] = {}
        self.start = 0.0
        self.agents: LiveAgents | None = None
        self.tracker: _Tracker | None = None
        self.hsm: _Hsm | None = None
        self.snapshots: SnapshotBuilder | None = None
        self._last_snapshot_wall = -math.inf

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
        async with (
            httpx.AsyncClient(timeout=10.0) as client,
            trio.open_nursery() as nursery,
        ):
            if options.hsm is not None:
                remote = _RemoteHsm(options.hsm, client, wall_start)
                await remote.prepare(scenario, initial)
                self.hsm = remote
            else:
                model = scenario.mock_hsm(self.selection)
                urls: list[str] = await nursery.start(
                    partial(serve_mock_hsm, model, host="127.0.0.1", port=0, clock=self.now)
                )
                self.hsm = _LocalHsm(model, urls[0])
                self.snapshots = SnapshotBuilder(
                    title=scenario.name,
                    duration=scenario.duration,
                    nodes=scenario.fleet.nodes,
                    hsm=model,
                )
                # The tracker reports here: a started hbtd gets it as --sm_url too, a
                # --target gets it with its other parameters (Sm_url is PATCHable).
                self.params["Sm_url"] = f"{urls[0]}/hsm/v2"
            tracker = _Tracker(
                target=options.target,
                hsm_url=self.hsm.url,
                extra=options.hbtd_args,
                log_dir=options.log_dir,
            )
            self.tracker = tracker
            try:
                await tracker.start(client, self.params)
                # Time 0 is when the tracker is ready: its start-up is not part of the story.
                self.start = trio.current_time()
                if isinstance(self.hsm, _RemoteHsm):
                    self.hsm.wall_start = wall.time()
                agents = LiveAgents(
                    host=tracker.host,
                    port=tracker.port,
                    scenario=scenario,
                    truth=self.truth,
                    rng=random.Random(f"{scenario.seed}/fleet"),
                    clock=self.now,
                    connections=options.connections,
                )
                self.agents = agents
                agents_scope = trio.CancelScope()
                nursery.start_soon(self._run_agents, agents, agents_scope)
                for index, exp in enumerate(scenario.expectations):
                    if exp.heartbeating is not None:
                        nursery.start_soon(self._sample_heartbeating, client, index)
                if options.on_snapshot is not None and self.snapshots is not None:
                    nursery.start_soon(self._snapshot_task)
                for event in scenario.timeline:
                    await trio.sleep_until(self.start + event.at)
                    self.marks.append(TimelineMark(event.at, describe_event(event)))
                    await self._apply(event, nursery, client)
                await trio.sleep_until(self.start + scenario.duration)
                agents_scope.cancel()  # the story ends here: no heartbeat after the end
                changes, requests = await self.hsm.records()
            finally:
                with trio.CancelScope(shield=True):
                    await tracker.stop()
            nursery.cancel_scope.cancel()
        self._snapshot(force=True)
        self.truth.close(scenario.duration)
        record = RunRecord(
            scenario=scenario,
            selection=self.selection,
            end=scenario.duration,
            truth=self.truth,
            hsm_initial=initial,
            changes=changes,
            requests=requests,
            heartbeating=self.heartbeating,
            hsm_faulted=faulted_intervals(scenario),
            tracker_down=self.tracker_down,
        )
        assert self.agents is not None
        return RunResult(
            scenario=scenario,
            clock="live",
            verdicts=tuple(judge(record)),
            record=record,
            wall_seconds=wall.perf_counter() - started,
            heartbeats_sent=self.agents.sent,
            heartbeats_delivered=self.agents.delivered,
            heartbeats_failed=self.agents.failed,
            marks=tuple(self.marks),
            target=tracker.base if not tracker.owned else f"hbtd process at {tracker.base}",
        )

    async def _run_agents(self, agents: LiveAgents, scope: trio.CancelScope) -> None:
        with scope:
            await agents.run(self.start)

    async def _apply(self, event: Event, nursery: trio.Nursery, client: httpx.AsyncClient) -> None:
        agents, hsm = self.agents, self.hsm
        assert agents is not None
        assert hsm is not None
        resolve = self.selection.resolve
        match event:
            case NodesDie():
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._die, names, True))
            case NodesRevive():
                for at, names in spread_times(self.scenario, event, resolve(event.nodes)):
                    nursery.start_soon(self._at, at, partial(self._revive, names, True))
            case NodesFlap():
                names = list(resolve(event.nodes))
                for stop, back in event.cycles():
                    nursery.start_soon(self._at, stop, partial(self._die, names, False))
                    nursery.start_soon(self._at, back, partial(self._revive, names, False))
            case PartitionNodes():
                agents.cut(self._indexes(resolve(event.nodes)), lost=True)
            case HealPartition():
                agents.cut(self._indexes(resolve(event.nodes)), lost=False)
            case DelayHeartbeats():
                nodes = self._indexes(resolve(event.nodes))
                agents.delay(nodes, event.by)
                if event.duration is not None:
                    nursery.start_soon(
                        self._at, event.at + event.duration, partial(self._undelay, nodes)
                    )
            case HsmChange():
                await hsm.set_faults(event.faults)
            case TrackerRestart():
                nursery.start_soon(self._restart, client, event.downtime)
            case ParamsPatch():
                self.params.update(event.params)
                assert self.tracker is not None
                await client.patch(f"{self.tracker.base}/hmi/v1/params", json=dict(event.params))

    def _indexes(self, names: Sequence[str]) -> list[int]:
        return [self.index[x] for x in names]

    async def _at(self, at: float, action: Callable[[], Any]) -> None:
        await trio.sleep_until(self.start + at)
        result = action()
        if result is not None:
            await result

    async def _die(self, names: Sequence[str], power: bool) -> None:
        assert self.agents is not None
        assert self.hsm is not None
        self.agents.stop(self._indexes(names))
        if power and self.scenario.hsm.power_polling:
            await self.hsm.set_power(names, on=False)

    async def _revive(self, names: Sequence[str], power: bool) -> None:
        assert self.agents is not None
        assert self.hsm is not None
        if power and self.scenario.hsm.power_polling:
            await self.hsm.set_power(names, on=True)
        self.agents.revive(self._indexes(names))

    def _undelay(self, nodes: Sequence[int]) -> None:
        assert self.agents is not None
        self.agents.delay(nodes, 0.0)

    async def _restart(self, client: httpx.AsyncClient, downtime: float) -> None:
        tracker = self.tracker
        assert tracker is not None
        down = self.now()
        await tracker.stop()
        await trio.sleep(max(0.0, downtime - (self.now() - down)))
        await tracker.start(client, self.params)
        self.tracker_down.append((down, self.now()))

    async def _sample_heartbeating(self, client: httpx.AsyncClient, index: int) -> None:
        exp = self.scenario.expectations[index]
        names = list(self.selection.resolve(exp.nodes))
        samples = self.heartbeating.setdefault(index, [])
        if exp.at is not None:
            times = [exp.at]
        else:
            count = int((exp.deadline - exp.after) / HEARTBEATING_SAMPLE)
            times = [exp.after + i * HEARTBEATING_SAMPLE for i in range(count + 1)]
        assert self.tracker is not None
        for at in times:
            await trio.sleep_until(self.start + at)
            seen: dict[str, bool] = {}
            for first in range(0, len(names), HBSTATES_BATCH):
                batch = names[first : first + HBSTATES_BATCH]
                try:
                    answer = await client.post(
                        f"{self.tracker.base}/hmi/v1/hbstates", json={"XNames": batch}
                    )
                    states = answer.json()["HBStates"]
                except (httpx.HTTPError, ValueError, KeyError):
                    states = []
                seen.update({s["XName"]: bool(s["Heartbeating"]) for s in states})
            samples.append((at, {x: seen.get(x, False) for x in names}))

    async def _snapshot_task(self) -> None:
        while True:
            await trio.sleep(self.options.snapshot_period)
            self._snapshot()

    def _snapshot(self, *, force: bool = False) -> None:
        hook = self.options.on_snapshot
        if hook is None or self.snapshots is None:
            return
        now = wall.monotonic()
        if not force and now - self._last_snapshot_wall < self.options.snapshot_min_wall_gap:
            return
        self._last_snapshot_wall = now
        hook(self.snapshots.build(min(max(self.now(), 0.0), self.scenario.duration)))

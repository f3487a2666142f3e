"""How to play a scenario (``RunOptions``) and what a played scenario gives (``RunResult``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hbtd_server import Engine
from hbtd_server.core import Params

from ..fleet import DEFAULT_SLOT
from ..scenario import Scenario
from ._checks import RunRecord, Verdict
from ._snapshot import SimSnapshot

__all__ = [
    "EngineFactory",
    "RunOptions",
    "RunResult",
    "SnapshotHook",
    "TimelineMark",
    "default_engine",
]

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

"""How to play a scenario (``RunOptions``) and what a played scenario gives (``RunResult``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hbtd_server import Engine
from hbtd_server.core import Params

from ..fleet import DEFAULT_SLOT, ScheduleGap
from ..scenario import Scenario
from ._record import RunRecord, Verdict
from ._snapshot import SimSnapshot

__all__ = [
    "EngineFactory",
    "Outcome",
    "Progress",
    "ProgressHook",
    "RunOptions",
    "RunResult",
    "SnapshotHook",
    "TimelineMark",
    "default_engine",
]

#: How a run ended: every check held; one did not; or one did not while the fleet itself fell
#: behind, so the run proves nothing either way.
Outcome = Literal["passed", "failed", "inconclusive"]

EngineFactory = Callable[[Params, Callable[[], float]], Engine]
SnapshotHook = Callable[[SimSnapshot], None]
ProgressHook = Callable[["Progress"], None]


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
        on_progress: called with a ``Progress`` at most once per ``progress_min_wall_gap``
            wall seconds (checked every second of run time): for a log or a CI job, where
            there is no live view.
        progress_min_wall_gap: least wall seconds between two progress reports.
        keep_params: live with ``target``: leave the scenario's parameters on the tracker at
            the end; by default the ones the run changed are set back, however it ends.
        on_note: called with a line worth telling the user at the end of a live run (the
            parameters set back or kept).
        ports: live only: where the started ``hbtd``'s port is picked first (a block of its
            own per parallel test worker); None lets the OS pick.
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
    on_progress: ProgressHook | None = None
    progress_min_wall_gap: float = 10.0
    keep_params: bool = False
    on_note: Callable[[str], None] | None = None
    ports: range | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run is, for a progress line.

    Attributes:
        scenario: its name.
        time: seconds of run time played.
        duration: seconds the run lasts.
        delivered: heartbeats delivered so far.
    """

    scenario: str
    time: float
    duration: float
    delivered: int

    def describe(self) -> str:
        """One line: ``hb-sim: quick-death at 12 s of 30 s (40 %), 380 heartbeats``."""
        share = self.time / self.duration if self.duration > 0 else 1.0
        return (
            f"hb-sim: {self.scenario} at {self.time:.0f} s of {self.duration:.0f} s "
            f"({share:.0%}), {self.delivered:,} heartbeats delivered"
        )


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
        fleet_gaps: live only: the worst gaps between two heartbeats of a node that the fleet
            itself caused (a busy machine), longest first; empty when it kept its schedule.
        fleet_behind: the fleet left some node silent for Warntime or more on its own: a
            warning for it was legitimate, so a failed check may be the fleet's doing.
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
    fleet_gaps: tuple[ScheduleGap, ...] = ()
    fleet_behind: bool = False

    @property
    def passed(self) -> bool:
        """Whether every expectation and invariant held."""
        return all(v.passed for v in self.verdicts)

    @property
    def outcome(self) -> Outcome:
        """``passed``; ``failed``; or ``inconclusive`` when a check failed but the fleet fell
        behind far enough to make a warning legitimate."""
        if self.passed:
            return "passed"
        return "inconclusive" if self.fleet_behind else "failed"

    @property
    def failed_count(self) -> int:
        """Checks that did not hold."""
        return sum(not v.passed for v in self.verdicts)

    def summary(self) -> str:
        """The last line of a run: outcome, counts, and why when inconclusive."""
        scenario = self.scenario
        total = len(self.verdicts)
        counts = f"{total - self.failed_count} of {total} checks passed"
        if self.failed_count:
            counts += f", {self.failed_count} failed"
        line = f"{self.outcome.upper()}: {scenario.name}: {counts}"
        if self.outcome == "inconclusive" and self.fleet_gaps:
            worst = self.fleet_gaps[0]
            line += f"; the fleet fell behind (worst gap {worst.gap:.1f} s, {worst.xname})"
        return line

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
            "outcome": self.outcome,
            "fleet_behind": self.fleet_behind,
            "fleet_gaps": [
                {"xname": g.xname, "at": round(g.at, 3), "gap": round(g.gap, 3)}
                for g in self.fleet_gaps
            ],
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

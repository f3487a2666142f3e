"""Deliberately broken trackers fail the shipped scenarios, with a verdict that says why.

Issue #4, point 4: the scenarios must catch a tracker that never warns, one that says
"started" for a restart, one that sends stale states after an HSM outage, and one that comes
back from a restart without a grace period. Each is hbtd's own ``Engine`` with one fault.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from hb_sim import RunOptions, RunResult, default_engine, load_scenario, run_scenario
from hbtd_server import Engine
from hbtd_server.core import HsmLedger, HsmPatch, Kind, Params, Tracker, Transition

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def play(name: str, factory: Callable[[Params, Callable[[], float]], Engine]) -> RunResult:
    return run_scenario(
        load_scenario(SCENARIOS / f"{name}.yaml"), RunOptions(engine_factory=factory)
    )


def failed(result: RunResult) -> set[str]:
    return {v.name for v in result.verdicts if not v.passed}


class NeverWarns(Engine):
    """Drops every "might be dead" transition."""

    def _publish(self, transitions: Sequence[Transition]) -> None:
        super()._publish([t for t in transitions if t.kind is not Kind.WARNING])


class StartedForRestarted(Engine):
    """Reports a node back from Warning as "Heartbeat started"."""

    def _publish(self, transitions: Sequence[Transition]) -> None:
        super()._publish(
            [
                Transition(t.xname, Kind.STARTED, t.at, t.due, t.sender_timestamp, t.status)
                if t.kind is Kind.RESTARTED
                else t
                for t in transitions
            ]
        )


class ReplayingLedger(HsmLedger):
    """Edge-triggered: replays every wanted state in order instead of only the latest."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: list[tuple[str, Kind]] = []

    def want(self, xname: str, kind: Kind) -> None:
        self._queue.append((xname, kind))
        super().want(xname, kind)

    def take(self, now: float | None = None) -> list[HsmPatch]:
        super().take(now)  # marks everything pending as in flight
        queue, self._queue = self._queue, []
        return [HsmPatch(kind, (xname,)) for xname, kind in queue]


class ReplaysAfterOutage(Engine):
    def __init__(self, params: Params, *, clock: Callable[[], float]) -> None:
        super().__init__(params, clock=clock)
        self.ledger = ReplayingLedger()


def test_a_tracker_that_never_warns_fails_single_node_death() -> None:
    result = play("single-node-death", lambda p, c: NeverWarns(p, clock=c))
    assert not result.passed
    assert "the victim is warned about" in failed(result)
    assert "max_detection_lateness" in failed(result)
    verdict = next(v for v in result.verdicts if v.name == "the victim is warned about")
    assert verdict.seen == "1 of 1 wrong: Ready/OK (1)"


def test_started_for_a_restart_fails_the_flapping_node() -> None:
    result = play("flapping-node", lambda p, c: StartedForRestarted(p, clock=c))
    assert failed(result) == {"messages_match_truth"}
    verdict = next(v for v in result.verdicts if v.name == "messages_match_truth")
    assert "'Heartbeat started', truth restarted" in verdict.seen


def test_stale_states_after_an_outage_fail_the_outage_scenario() -> None:
    result = play("hsm-outage-during-failure-wave", lambda p, c: ReplaysAfterOutage(p, clock=c))
    assert "no_stale_patches" in failed(result)
    verdict = next(v for v in result.verdicts if v.name == "no_stale_patches")
    assert "Ready/Warning, truth Standby/Alert" in verdict.seen


def test_a_restart_without_grace_fails_the_restart_scenario() -> None:
    # The restarted tracker gets its predecessor's records back with their old times, as a
    # persistent store restored without the grace period would: everyone is overdue.
    trackers: list[Tracker] = []

    def restore_without_grace(params: Params, clock: Callable[[], float]) -> Engine:
        engine = Engine(params, clock=clock)
        if trackers:
            engine.tracker = trackers[-1]
        trackers.append(engine.tracker)
        return engine

    result = play("tracker-restart", restore_without_grace)
    assert "no_false_alarms" in failed(result)
    assert "everyone still Ready after the restart" not in failed(result)  # back by 3 min
    assert len(trackers) == 2


def test_the_real_tracker_passes_the_same_scenario() -> None:
    # The control for the broken ones above (test_scenarios_virtual runs them all).
    assert play("flapping-node", lambda p, c: Engine(p, clock=c)).passed


def test_a_tracker_without_the_silence_guard_fails_the_network_cut() -> None:
    # Issue #9: the same engine with its guard disabled declares the whole machine dead.
    def no_guard(params: Params, clock: Callable[[], float]) -> Engine:
        return default_engine(dataclasses.replace(params, guard_share=0), clock)

    result = play("tracker-network-cut", no_guard)
    assert not result.passed
    assert "past Errtime nobody is declared dead (the alerts are held)" in failed(result)
    assert play("tracker-network-cut", default_engine).passed

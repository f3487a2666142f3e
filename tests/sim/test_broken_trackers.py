"""Deliberately broken trackers fail the shipped scenarios, with a verdict that says why.

Issue #4, point 4, and issue #14: the scenarios must catch a tracker that never warns, one
that says "started" for a restart, one that warns an Interval late, one that drops a state
whose PATCH failed, one that ignores a Warntime change for the nodes it tracks, one that sends
one PATCH per node, one that loses latest-wins (stale states after an HSM outage), one that
sends a spurious Warning for a dying node, and one that comes back from a restart without a
grace period. Each is hbtd's own ``Engine`` with one fault; each test names the shipped
scenario that catches it and the check that does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hb_sim import RunOptions, RunResult, load_scenario, run_scenario
from hb_sim.run import EngineFactory, default_engine
from hbtd_server import Engine
from hbtd_server.core import (
    SHUTDOWN_STATUS,
    HsmLedger,
    HsmPatch,
    HsmView,
    Kind,
    Params,
    Tracker,
    Transition,
    view_of,
)
from tests.sim.runs import engine_with, failing
from tests.sim.shipped import SCENARIO_DIR
from tests.sim.test_refusal_scenario import ForgetsRefusals


def play(name: str, factory: EngineFactory) -> RunResult:
    return run_scenario(
        load_scenario(SCENARIO_DIR / f"{name}.yaml"), RunOptions(engine_factory=factory)
    )


def failed(result: RunResult) -> set[str]:
    return {v.name for v in result.verdicts if not v.passed}


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
        super().__init__(params, clock=clock, ledger=ReplayingLedger())


def test_a_tracker_that_never_warns_fails_single_node_death() -> None:
    result = failing()
    assert not result.passed
    assert "the victim is warned about" in failed(result)
    assert "max_detection_lateness" in failed(result)
    verdict = next(v for v in result.verdicts if v.name == "the victim is warned about")
    assert verdict.seen == (
        "1 of 1 wrong, e.g. x1000c0s3b0n1: Ready/Warning expected at 74.0 s, "
        "was Ready/OK since 1.4 s"
    )


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
        tracker = Tracker(warntime=params.warntime, errtime=params.errtime)
        trackers.append(trackers[-1] if trackers else tracker)
        return Engine(params, clock=clock, tracker=trackers[-1])

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


def only(result: RunResult, check: str) -> None:
    """The run failed, and ``check`` is among the failures."""
    assert not result.passed
    assert check in failed(result), failed(result)


class WarnsAnIntervalLate(Engine):
    """Warns at Warntime + Interval: a sweep every Interval instead of a deadline."""

    def __init__(self, params: Params, *, clock: Callable[[], float]) -> None:
        self.late = Tracker(warntime=params.warntime + params.interval, errtime=params.errtime)
        super().__init__(params, clock=clock, tracker=self.late)

    def set_params(self, params: Params) -> None:
        super().set_params(params)
        self.late.set_times(warntime=params.warntime + params.interval, errtime=params.errtime)


def test_a_warning_an_interval_late_fails_single_node_death_through_lateness() -> None:
    result = play("single-node-death", lambda p, c: WarnsAnIntervalLate(p, clock=c))
    only(result, "max_detection_lateness")
    assert "max_patches_per_wave" not in failed(result)  # caught by timing, not batching
    verdict = next(v for v in result.verdicts if v.name == "max_detection_lateness")
    assert "warning due" in verdict.details[0]


class DropsFailedPatches(HsmLedger):
    """A PATCH that failed (HSM down, 5xx) is forgotten instead of retried later."""

    def settle(self, patch: HsmPatch, *, delivered: bool) -> None:
        del delivered  # forgotten: settled as if HSM had it, so it is never sent again
        super().settle(patch, delivered=True)


def test_a_dropped_failed_patch_fails_slow_hsm() -> None:
    result = play(
        "slow-hsm", engine_with(DropsFailedPatches)
    )  # 20 % of its PATCHes fail with 503 from 2 min on
    only(result, "final_state_matches_truth")


class KeepsOldDeadlines(Tracker):
    """A Warntime/Errtime change applies only to nodes heard from afterwards."""

    def set_times(self, *, warntime: float, errtime: float) -> None:
        self._warntime, self._errtime = warntime, errtime  # no re-arm of tracked nodes


def test_a_warntime_change_ignored_for_tracked_nodes_fails_params_change_midrun() -> None:
    def factory(params: Params, clock: Callable[[], float]) -> Engine:
        tracker = KeepsOldDeadlines(warntime=params.warntime, errtime=params.errtime)
        return Engine(params, clock=clock, tracker=tracker)

    result = play("params-change-midrun", factory)
    only(result, "max_detection_lateness")
    assert "group C is warned under the short Warntime, just after the change" in failed(result)


class OnePatchPerNode(HsmLedger):
    """Sends every node's state in a PATCH of its own."""

    def take(self, now: float | None = None) -> list[HsmPatch]:
        return [HsmPatch(p.kind, (x,)) for p in super().take(now) for x in p.xnames]


def test_one_patch_per_node_fails_cabinet_power_loss_through_the_wave_limit() -> None:
    result = play("cabinet-power-loss", engine_with(OnePatchPerNode))
    only(result, "max_patches_per_wave")


def test_lost_latest_wins_fails_the_outage_scenario_through_the_order_of_states() -> None:
    result = play("hsm-outage-during-failure-wave", lambda p, c: ReplaysAfterOutage(p, clock=c))
    only(result, "hsm_follows_truth")
    verdict = next(v for v in result.verdicts if v.name == "hsm_follows_truth")
    assert "Ready/Warning" in verdict.seen


class OneSpuriousWarning(HsmLedger):
    """After the first Alert HSM accepts, sends that node a Warning, then the Alert again."""

    def __init__(self) -> None:
        super().__init__()
        self._extra: list[HsmPatch] = []
        self._done = False

    def has_work(self, now: float | None = None) -> bool:
        return super().has_work(now) or bool(self._extra)

    def take(self, now: float | None = None) -> list[HsmPatch]:
        patches = super().take(now)
        if self._extra:  # one per round, so they reach HSM in this order
            patches.append(self._extra.pop(0))
        return patches

    def settle(self, patch: HsmPatch, *, delivered: bool) -> None:
        super().settle(patch, delivered=delivered)
        if delivered and patch.kind is Kind.DEAD and not self._done:
            self._done = True
            node = patch.xnames[:1]
            self._extra = [HsmPatch(Kind.WARNING, node), HsmPatch(Kind.DEAD, node)]


def test_one_spurious_warning_on_a_dying_node_fails_through_hsm_follows_truth_alone() -> None:
    result = play("single-node-death", engine_with(OneSpuriousWarning))
    assert failed(result) == {"hsm_follows_truth"}
    verdict = next(v for v in result.verdicts if v.name == "hsm_follows_truth")
    assert verdict.seen.startswith("1 wrong: x1000c0s3b0n1: HSM told Ready/Warning at ")
    assert "(out of order)" in verdict.seen


# -- issue #20: HSM is not the tracker's alone ---------------------------------------------


class TrustsStaleAcknowledgements(HsmLedger):
    """Sends a state only when it differs from the one HSM acknowledged last, as if no one
    else ever wrote to HSM: a node's "started" after a power cycle is never sent."""

    def want(self, xname: str, kind: Kind) -> None:
        if xname not in self._in_flight and self._acked.get(xname) is kind:
            self._pending.pop(xname, None)
            return
        super().want(xname, kind)

    def forget(self, xname: str) -> None:
        pass  # keeps believing HSM shows what it acknowledged before the node went away


def test_an_edge_suppressed_by_a_stale_acknowledgement_fails_the_reboot_wave() -> None:
    result = play("graceful-reboot-wave", engine_with(TrustsStaleAcknowledgements))
    only(result, "max_detection_lateness")
    assert "Ready again within 3 s of their first heartbeat" in failed(result)
    verdict = next(v for v in result.verdicts if v.name == "max_detection_lateness")
    assert verdict.details[0].endswith("never shown")
    assert " started due " in verdict.details[0]


class ForgetsOnShutdown(Tracker):
    """Forgets a component on a Shutdown heartbeat even while it is in warning."""

    def heartbeat(
        self, xname: str, now: float, *, timestamp: str, status: str
    ) -> Transition | None:
        record = self._records.get(xname)
        if status == SHUTDOWN_STATUS and record is not None:
            self._drop(xname, record)
            return None
        return super().heartbeat(xname, now, timestamp=timestamp, status=status)


def test_a_shutdown_in_warning_that_forgets_the_node_fails_through_its_alert() -> None:
    def factory(params: Params, clock: Callable[[], float]) -> Engine:
        tracker = ForgetsOnShutdown(warntime=params.warntime, errtime=params.errtime)
        return Engine(params, clock=clock, tracker=tracker)

    result = play("shutdown-in-warning", factory)
    only(result, "their Alert still comes")
    verdict = next(v for v in result.verdicts if v.name == "their Alert still comes")
    assert "Standby/Alert expected by 20.0 s, never reached (Ready/Warning at 20.0 s)" in (
        verdict.seen
    )
    assert play("shutdown-in-warning", default_engine).passed


class HeartbeatWinsTies(Tracker):
    """A heartbeat exactly on a deadline comes before it (the deadline fires a hair late)."""

    def _deadline(self, record: Any) -> float:
        return super()._deadline(record) + 1e-6


def test_ties_given_to_the_heartbeat_fail_the_second_tie_scenario() -> None:
    def factory(params: Params, clock: Callable[[], float]) -> Engine:
        tracker = HeartbeatWinsTies(warntime=params.warntime, errtime=params.errtime)
        return Engine(params, clock=clock, tracker=tracker)

    result = play("ties-by-flap-and-partition", factory)
    only(result, "messages_match_truth")
    assert play("ties-by-flap-and-partition", default_engine).passed


def test_a_tracker_without_the_silence_guard_fails_the_hold_limit_story() -> None:
    def no_guard(params: Params, clock: Callable[[], float]) -> Engine:
        return default_engine(dataclasses.replace(params, guard_share=0), clock)

    result = play("guard-hold-limit", no_guard)
    only(result, "the alerts are held while the tracker suspects itself")


def test_a_tracker_that_forgets_refused_states_fails_the_second_refusal_story() -> None:
    result = play("refused-then-retried", engine_with(ForgetsRefusals))
    only(result, "final_state_matches_truth")
    assert "the held Alert arrives once HSM accepts again" in failed(result)


class FightsAnOff(HsmLedger):
    """Reconciliation that asserts every tracked node's heartbeat truth whatever HSM shows:
    a dead node another writer powered off is sent Standby/Alert every round."""

    def reconcile(
        self, read: Mapping[str, HsmView | None], levels: Mapping[str, Kind]
    ) -> list[tuple[str, Kind]]:
        corrected = super().reconcile(read, levels)
        done = {xname for xname, _ in corrected}
        for xname, view in read.items():
            level = levels.get(xname)
            if view is None or level is None or xname in done or self.busy(xname):
                continue
            if view != view_of(level):
                self.want(xname, level)  # HSM skips it (204) and the next round asks again
                corrected.append((xname, level))
        return corrected


def test_a_reconciliation_that_fights_an_off_fails_through_hsm_follows_truth() -> None:
    result = play("operator-sets-standby", engine_with(FightsAnOff))
    only(result, "hsm_follows_truth")
    verdict = next(v for v in result.verdicts if v.name == "hsm_follows_truth")
    assert "HSM told Standby/Alert" in verdict.seen
    assert "truth Off/OK since 20.0 s" in verdict.seen
    # HSM skips those PATCHes (the nodes are Off): the expectation alone would not see it.
    assert "powered off, the dead nodes stay Off over three reconcile periods" not in failed(result)


def test_a_tracker_that_never_reconciles_fails_the_other_writers_stories() -> None:
    def no_reconcile(params: Params, clock: Callable[[], float]) -> Engine:
        return default_engine(dataclasses.replace(params, reconcile_interval=0), clock)

    result = play("operator-sets-standby", no_reconcile)
    only(result, "the live nodes are Ready/OK again within the reconcile interval")
    result = play("hsm-restored-during-failure-wave", no_reconcile)
    only(result, "the first wave is Standby/Alert again within the reconcile interval")

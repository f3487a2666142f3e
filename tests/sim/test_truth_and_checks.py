"""The truth and the checks on hand-made records: explicit times, no tracker, no trio."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hb_sim import load_scenario_text
from hb_sim.hsm import RecordedRequest, StateChange
from hb_sim.run import ParamEpoch, RunRecord, Truth, judge

NODES = ["x1000c0s0b0n0", "x1000c0s0b0n1"]
A, B = NODES


def truth(*epochs: ParamEpoch) -> Truth:
    return Truth(NODES, ("On", "OK"), epochs or (ParamEpoch(0.0, 10.0, 20.0),))


def history(t: Truth, xname: str) -> list[tuple[float, str, str, str]]:
    return [(c.time, c.state, c.flag, c.cause) for c in t.history(xname)]


def test_first_heartbeat_starts_and_steady_beats_change_nothing() -> None:
    t = truth()
    for now in (1.0, 4.0, 7.0, 10.0):
        t.delivered(0, now)
    t.close(12.0)
    assert history(t, A) == [(0.0, "On", "OK", "initial"), (1.0, "Ready", "OK", "started")]
    assert history(t, B) == [(0.0, "On", "OK", "initial")]  # never heard: HSM's start
    assert t.changed_nodes() == [A]


def test_a_gap_past_warntime_is_a_warning_then_a_restart() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.delivered(0, 15.0)
    assert history(t, A)[1:] == [
        (0.0, "Ready", "OK", "started"),
        (10.0, "Ready", "Warning", "warning"),
        (15.0, "Ready", "OK", "restarted"),
    ]


def test_a_gap_past_errtime_is_dead_then_started() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.delivered(0, 25.0)
    assert [c.cause for c in t.history(A)] == ["initial", "started", "warning", "dead", "started"]
    assert t.at(A, 19.9).flag == "Warning"
    assert t.at(A, 20.0).state == "Standby"


def test_silent_nodes_are_closed_at_the_end() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.close(20.0)  # exactly Errtime: due, as the tracker's >= says
    assert [c.cause for c in t.history(A)] == ["initial", "started", "warning", "dead"]


def test_new_warntime_applies_from_the_patch_on() -> None:
    # Warntime 10 until 100 s, then 20: a node last heard at 95 s is warned at 115 s, not 105.
    t = truth(ParamEpoch(0.0, 10.0, 20.0), ParamEpoch(100.0, 20.0, 40.0))
    t.delivered(0, 95.0)
    t.close(200.0)
    assert [(c.time, c.cause) for c in t.history(A)[2:]] == [(115.0, "warning"), (135.0, "dead")]


def test_a_lowered_errtime_is_due_at_the_patch() -> None:
    t = truth(ParamEpoch(0.0, 10.0, 60.0), ParamEpoch(30.0, 10.0, 20.0))
    t.delivered(0, 0.0)
    t.close(100.0)
    assert [(c.time, c.cause) for c in t.history(A)[2:]] == [(10.0, "warning"), (30.0, "dead")]


SCENARIO = """
name: unit
duration: 60s
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
timeline:
  - {at: 10s, die: x1000c0s0b0n1}
expect:
  - {name: b dead, by: 40s, nodes: x1000c0s0b0n1, state: Standby, flag: Alert}
  - {name: a fine, at: 50s, nodes: x1000c0s0b0n0, state: Ready, flag: OK}
invariants:
  max_detection_lateness: 1s
  max_patches_per_wave: 1
  no_stale_patches: true
"""


def patch(
    index: int, time: float, ids: list[str], state: str, flag: str, message: str
) -> RecordedRequest:
    return RecordedRequest(
        index=index,
        time=time,
        method="PATCH",
        path="/hsm/v2/State/Components/BulkStateData",
        query={},
        body={
            "ComponentIDs": ids,
            "State": state,
            "Flag": flag,
            "ExtendedInfo": {"ID": "", "Message": message, "Flag": ""},
        },
        raw_body=None,
        status=204,
    )


def record(changes: list[StateChange], requests: list[RecordedRequest]) -> RunRecord:
    scenario = load_scenario_text(SCENARIO, str(Path("unit.yaml")))
    t = truth()
    t.delivered(0, 1.0)
    t.delivered(1, 1.0)
    for now in range(4, 60, 3):
        t.delivered(0, float(now))
    t.close(60.0)  # b: warned at 11 s, dead at 21 s
    return RunRecord(
        scenario=scenario,
        selection=scenario.selection(),
        end=60.0,
        truth=t,
        hsm_initial={A: ("On", "OK"), B: ("On", "OK")},
        changes=changes,
        requests=requests,
    )


def verdicts(rec: RunRecord) -> dict[str, tuple[bool, str]]:
    return {v.name: (v.passed, v.seen) for v in judge(rec)}


def test_a_right_run_passes_every_check() -> None:
    rec = record(
        [
            StateChange(0, 1.2, (A, B), "Ready", "OK"),
            StateChange(1, 11.2, (B,), "Ready", "Warning"),
            StateChange(2, 21.2, (B,), "Standby", "Alert"),
        ],
        [
            patch(0, 1.2, [A, B], "Ready", "OK", "Heartbeat started"),
            patch(1, 11.2, [B], "Ready", "Warning", "Heartbeat stopped -- might be dead"),
            patch(2, 21.2, [B], "Standby", "Alert", "Heartbeat stopped -- declared dead"),
        ],
    )
    assert all(passed for passed, _ in verdicts(rec).values()), verdicts(rec)


def test_a_late_alert_fails_lateness_and_the_by_expectation() -> None:
    rec = record(
        [
            StateChange(0, 1.2, (A, B), "Ready", "OK"),
            StateChange(1, 11.2, (B,), "Ready", "Warning"),
            StateChange(2, 45.0, (B,), "Standby", "Alert"),
        ],
        [],
    )
    seen = verdicts(rec)
    assert seen["b dead"] == (
        False,
        "1 of 1 wrong, e.g. x1000c0s0b0n1: Standby/Alert expected by 40.0 s, reached at 45.0 s",
    )
    assert seen["max_detection_lateness"][0] is False
    assert "x1000c0s0b0n1 dead due 21.00s, shown 45.00s" in next(
        v.details for v in judge(rec) if v.name == "max_detection_lateness"
    )
    assert seen["final_state_matches_truth"][0] is True


def test_false_alarm_stale_patch_and_wave_size_are_caught() -> None:
    rec = record(
        [StateChange(0, 1.2, (A, B), "Ready", "OK")],
        [
            patch(0, 1.2, [A], "Ready", "OK", "Heartbeat started"),
            patch(1, 1.4, [B], "Ready", "OK", "Heartbeat started"),
            patch(2, 30.0, [A], "Ready", "Warning", "Heartbeat stopped -- might be dead"),
            patch(3, 35.0, [B], "Ready", "Warning", "Heartbeat stopped -- might be dead"),
        ],
    )
    seen = verdicts(rec)
    assert seen["no_false_alarms"][0] is False
    assert "30.00s x1000c0s0b0n0 Ready/Warning" in seen["no_false_alarms"][1]
    assert seen["max_patches_per_wave"] == (False, "3 wave(s), largest 2 PATCHes at 1.2-1.4s")
    assert seen["no_stale_patches"][0] is False
    assert "35.00s x1000c0s0b0n1 Ready/Warning, truth Standby/Alert" in seen["no_stale_patches"][1]
    assert seen["final_state_matches_truth"][0] is False


def test_wrong_message_is_caught() -> None:
    rec = record([], [patch(0, 1.2, [A], "Ready", "Warning", "Heartbeat started")])
    passed, seen = verdicts(rec)["messages_match_truth"]
    assert not passed
    assert "Ready/Warning with message 'Heartbeat started'" in seen


@pytest.mark.parametrize("value", [math.inf, 61.0])
def test_truth_after_the_end_is_the_last_one(value: float) -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.close(60.0)
    assert t.at(A, value).cause == "dead"


@pytest.mark.parametrize("exact_time", [True, False])
def test_a_beat_on_its_deadline_may_be_either_side_of_it_in_live_time_only(
    exact_time: bool,
) -> None:
    # The truth has b back from warning at 21 s, its Errtime deadline; the tracker saw the
    # deadline first, told HSM Standby/Alert, then "Heartbeat started". In virtual time the
    # truth's order is exact and the message is wrong; in live time nobody can tell.
    scenario = load_scenario_text(SCENARIO, "unit.yaml")
    t = truth()
    t.delivered(0, 1.0)
    t.delivered(1, 1.0)
    t.delivered(1, 20.999)
    t.close(30.0)
    rec = RunRecord(
        scenario=scenario,
        selection=scenario.selection(),
        end=30.0,
        truth=t,
        hsm_initial={A: ("On", "OK"), B: ("On", "OK")},
        changes=[],
        requests=[
            patch(0, 11.1, [B], "Ready", "Warning", "Heartbeat stopped -- might be dead"),
            patch(1, 21.0, [B], "Standby", "Alert", "Heartbeat stopped -- declared dead"),
            patch(2, 21.1, [B], "Ready", "OK", "Heartbeat started"),
        ],
        exact_time=exact_time,
    )
    passed, seen = verdicts(rec)["messages_match_truth"]
    assert passed is not exact_time, seen
    if exact_time:
        assert "'Heartbeat started', truth restarted" in seen


def test_guard_params_and_the_messages_invariant_load() -> None:
    scenario = load_scenario_text(
        """
name: guarded
duration: 1m
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
tracker: {params: {guard_share: 0, Guard_hold: 2m, GUARD_MIN: 5}}
invariants: {messages_match_truth: false}
""",
        "guarded.yaml",
    )
    assert scenario.tracker.params == {"Guard_share": "0", "Guard_hold": "120", "Guard_min": "5"}
    assert scenario.invariants.messages_match_truth is False
    assert load_scenario_text(SCENARIO, "unit.yaml").invariants.messages_match_truth is True

"""A failed expectation names what happened around it (#22): HSM's faults, the tracker's
absences, parameter changes, and the timeline's events on its own nodes, a few seconds either
side; what is far away or on other nodes is left out."""

from __future__ import annotations

from collections.abc import Callable

from hb_sim import RunOptions, load_scenario_text, run_scenario
from hbtd_server import Engine
from hbtd_server.core import Params, Tracker
from tests.sim.runs import failing

SCENARIO = """
name: context
duration: 80s
seed: 1
fleet: {ranges: ["x1000c0s[0-3]b0n0"]}
agents: {interval: 1s}
tracker: {warntime: 5s, errtime: 10s, interval: 1s}
timeline:
  - at: 2s
    die: {xnames: [x1000c0s3b0n0]}
  - at: 3s
    revive: {xnames: [x1000c0s3b0n0]}
  - at: 31s
    die: {xnames: [x1000c0s2b0n0]}
  - at: 33s
    die: {xnames: [x1000c0s1b0n0], name: victim}
  - at: 35s
    hsm: down
  - at: 40s
    params: {Errtime: "12"}
  - at: 55s
    hsm: up
expect:
  - name: the victim is warned about while HSM is down
    by: 45s
    after: 36s
    nodes: {ref: victim}
    state: Ready
    flag: Warning
  - name: everyone starts Ready
    by: 10s
    nodes: all
    state: Ready
    flag: OK
"""


def test_a_failed_expectation_names_the_outage_the_param_change_and_its_nodes_events() -> None:
    result = run_scenario(load_scenario_text(SCENARIO, "context.yaml"), RunOptions())
    warned, started = result.verdicts[:2]
    assert not warned.passed
    assert warned.seen == (
        "1 of 1 wrong, e.g. x1000c0s1b0n0: Ready/Warning expected by 45.0 s, never reached "
        "(Ready/OK at 45.0 s); around then: die x1000c0s1b0n0 (as 'victim') at 33.0 s; "
        "HSM down from 35.0 s to 55.0 s; params Errtime=12 at 40.0 s"
    )
    # The other node's death at 31 s and the flicker at 2 s are not this expectation's story.
    assert "x1000c0s2b0n0" not in warned.seen
    assert started.passed
    assert "around then" not in started.seen


RESTART = """
name: restart
duration: 40s
seed: 1
fleet: {ranges: ["x1000c0s[0-3]b0n0"]}
agents: {interval: 1s}
tracker: {warntime: 5s, errtime: 10s, interval: 1s}
timeline:
  - at: 20s
    tracker_restart: {downtime: 8s}
invariants:
  no_false_alarms: true
"""


def test_a_failed_invariant_names_what_happened_around_its_first_failure() -> None:
    # The restarted tracker keeps its predecessor's records with their old times (no grace,
    # as in test_broken_trackers): everyone is overdue, falsely, once it is back.
    trackers: list[Tracker] = []

    def without_grace(params: Params, clock: Callable[[], float]) -> Engine:
        tracker = Tracker(warntime=params.warntime, errtime=params.errtime)
        trackers.append(trackers[-1] if trackers else tracker)
        return Engine(params, clock=clock, tracker=trackers[-1])

    scenario = load_scenario_text(RESTART, "restart.yaml")
    result = run_scenario(scenario, RunOptions(engine_factory=without_grace))
    [alarms] = [v for v in result.verdicts if v.name == "no_false_alarms"]
    assert not alarms.passed
    assert alarms.seen.endswith("; around then: tracker away from 20.0 s to 28.0 s")


def test_a_late_detection_names_the_node_s_own_event() -> None:
    result = failing()  # single-node-death against a tracker that never warns
    [late] = [v for v in result.verdicts if v.name == "max_detection_lateness"]
    assert not late.passed
    assert late.seen.endswith("; around then: die x1000c0s3b0n1 (as 'victim') at 60.0 s")

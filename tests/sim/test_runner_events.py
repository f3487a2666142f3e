"""Timeline events no shipped scenario uses, played in virtual time and judged."""

from __future__ import annotations

from hb_sim import load_scenario_text, run_scenario

from .test_scenarios_virtual import explain

DELAY = """
name: delayed
duration: 2m
fleet: {ranges: ["x1000c0s[0-3]b0n[0-1]"]}
agents: {interval: 3s}
tracker: {warntime: 10s, errtime: 20s}
timeline:
  - {at: 30s, delay: {nodes: x1000c0s0b0n0, by: 12s, for: 30s}}
expect:
  - {name: the gap warns, by: 44s, after: 39s, nodes: x1000c0s0b0n0, state: Ready, flag: Warning}
  - {name: late beats restart it, by: 45s, after: 40s, nodes: x1000c0s0b0n0, state: Ready, flag: OK}
  - {name: others never notice, at: 100s, nodes: {glob: "x1000c0s[1-3]b0n0"}, state: Ready}
invariants: {max_detection_lateness: 1s, no_stale_patches: true}
"""

POWER = """
name: powered-off
duration: 3m
fleet: {ranges: ["x1000c0s[0-3]b0n[0-1]"]}
agents: {interval: 3s}
tracker: {warntime: 10s, errtime: 20s}
hsm: {power_polling: true}
timeline:
  - {at: 30s, die: x1000c0s2b0n1}
expect:
  - {name: declared dead, by: 55s, nodes: x1000c0s2b0n1, state: Standby, flag: Alert}
  - {name: HSM powers it off, by: 95s, nodes: x1000c0s2b0n1, state: "Off"}
invariants: {max_detection_lateness: 1s}
"""


def test_delayed_heartbeats_warn_then_restart() -> None:
    result = run_scenario(load_scenario_text(DELAY, "delayed.yaml"))
    assert result.passed, explain(result)
    history = [c.cause for c in result.record.truth.history("x1000c0s0b0n0")]
    assert history == ["initial", "started", "warning", "restarted"]


def test_power_polling_turns_the_dead_off_and_the_truth_accepts_it() -> None:
    result = run_scenario(load_scenario_text(POWER, "powered-off.yaml"))
    assert result.passed, explain(result)
    final = next(v for v in result.verdicts if v.name == "final_state_matches_truth")
    assert final.passed

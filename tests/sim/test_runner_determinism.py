"""Virtual time is deterministic: the same scenario and seed give the same run, event for event."""

from __future__ import annotations

import os
import subprocess
import sys

from hb_sim import RunOptions, RunResult, load_scenario, run_scenario
from tests.sim.shipped import SCENARIO_DIR

SCENARIO = SCENARIO_DIR / "hsm-outage-during-failure-wave.yaml"


def trace(result: RunResult) -> list[object]:
    """Everything HSM saw and did, in order, with times."""
    record = result.record
    requests = [(r.time, r.method, r.path, r.body, r.status) for r in record.requests]
    changes = [(c.time, c.ids, c.state, c.flag) for c in record.changes]
    verdicts = [(v.name, v.passed, v.seen) for v in result.verdicts]
    return [requests, changes, verdicts, result.heartbeats_delivered]


def test_same_seed_same_run_event_for_event() -> None:
    scenario = load_scenario(SCENARIO)
    first = run_scenario(scenario)
    second = run_scenario(scenario)
    assert trace(first) == trace(second)
    assert len(first.record.requests) > 10


def test_another_seed_another_run() -> None:
    scenario = load_scenario(SCENARIO)
    first = run_scenario(scenario)
    other = run_scenario(scenario, RunOptions(seed=scenario.seed + 1))
    assert other.scenario.seed == scenario.seed + 1
    assert other.passed
    # Other random victims, other jitter: not the same story.
    assert trace(first)[1] != trace(other)[1]


TRACE = """
import hashlib, json, sys
from hb_sim import load_scenario, run_scenario
result = run_scenario(load_scenario(sys.argv[1]))
trace = [(r.time, r.method, r.path, r.body, r.status) for r in result.record.requests]
trace += [(c.time, c.ids, c.state, c.flag) for c in result.record.changes]
print(hashlib.sha256(json.dumps(trace, default=list).encode()).hexdigest())
"""


def test_same_run_in_another_process() -> None:
    # Another process, another string-hash seed, other memory addresses: still the same run.
    scenario = SCENARIO.parent / "slow-hsm.yaml"
    digests = {
        subprocess.run(
            [sys.executable, "-c", TRACE, str(scenario)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1

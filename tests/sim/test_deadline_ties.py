"""Issue #14, point 1: a heartbeat exactly on a deadline comes after it, whatever the seed."""

from __future__ import annotations

import pytest

from hb_sim import RunOptions, load_scenario, run_scenario
from hb_sim.run import ParamEpoch, Truth
from tests.sim.shipped import SCENARIO_DIR

SCENARIO = SCENARIO_DIR / "deadline-ties.yaml"


def messages(result_requests: object, xname: str) -> list[str]:
    out: list[str] = []
    for request in result_requests:  # type: ignore[attr-defined]
        body = request.body
        if (
            request.method == "PATCH"
            and isinstance(body, dict)
            and xname in body.get("ComponentIDs", ())
        ):
            out.append(body["ExtendedInfo"]["Message"])
    return out


@pytest.mark.parametrize("seed", range(1, 21))
def test_ties_go_to_the_deadline_on_every_seed(seed: int) -> None:
    result = run_scenario(load_scenario(SCENARIO), RunOptions(seed=seed))
    assert result.passed, [v for v in result.verdicts if not v.passed]
    requests = result.record.requests
    # Warned and restarted at 14 s (latest wins: HSM gets the restart only).
    assert messages(requests, "x1000c0s0b0n0") == ["Heartbeat started", "Heartbeat restarted"]
    # Declared dead and started again at 19 s.
    assert messages(requests, "x1000c0s2b0n0") == [
        "Heartbeat started",
        "Heartbeat stopped -- might be dead",
        "Heartbeat started",
    ]
    truth = result.record.truth
    assert [(c.time, c.cause) for c in truth.history("x1000c0s0b0n0")][1:] == [
        (0.0, "started"),
        (14.0, "warning"),
        (14.0, "restarted"),
    ]
    assert [(c.time, c.cause) for c in truth.history("x1000c0s2b0n0")][-3:] == [
        (14.0, "warning"),
        (19.0, "dead"),
        (19.0, "started"),
    ]


def test_the_truth_counts_a_beat_on_the_deadline_as_after_it() -> None:
    truth = Truth(["a", "b"], ("Ready", "OK"), [ParamEpoch(0.0, 5.0, 10.0)])
    truth.delivered(0, 0.0)
    truth.delivered(1, 0.0)
    truth.delivered(0, 5.0)  # exactly Warntime later
    truth.delivered(1, 4.999)  # just before
    assert [c.cause for c in truth.history("a")] == ["initial", "started", "warning", "restarted"]
    assert [c.cause for c in truth.history("b")] == ["initial", "started"]

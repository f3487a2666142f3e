"""Issue #14, point 5: clean shutdowns, HSM refusing some or all IDs, a malformed ID."""

from __future__ import annotations

import pytest

from hb_sim import load_scenario, load_scenario_text, run_scenario
from hb_sim.errors import HsmProblem
from hb_sim.hsm import Faults, MockHsm
from hb_sim.run import ParamEpoch, Truth
from hb_sim.scenario import HsmChange, NodesShutdown
from tests.sim.shipped import SCENARIO_DIR

HEAD = """
name: t
duration: 2m
fleet: {ranges: ["x1000c0s[0-3]b0n0"]}
"""


def test_shutdown_and_refuse_are_read() -> None:
    scenario = load_scenario_text(
        HEAD
        + """
timeline:
  - {at: 10s, shutdown: x1000c0s0b0n0}
  - {at: 20s, hsm: {refuse: {xnames: [x1000c0s1b0n0]}, refuse_status: 403}}
  - {at: 30s, hsm: {refuse: all, refuse_status: 401, latency: 1s}}
"""
    )
    shutdown, some, every = scenario.timeline
    assert isinstance(shutdown, NodesShutdown)
    assert isinstance(some, HsmChange)
    assert some.faults.refuse_status == 403
    assert some.refuse is not None
    assert scenario.selection().resolve(some.refuse) == ("x1000c0s1b0n0",)
    assert isinstance(every, HsmChange)
    assert every.faults.refuse_status == 401
    assert every.faults.latency_ms == 1000.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{refuse: {xnames: [x9000c0s0b0n0]}}", "is not in the fleet"),
        ("{refuse: all, refuse_status: 600}", "from 400 to 599"),
        ("{refuse: all, refuse_status: 200}", "at least 400"),
    ],
)
def test_bad_refusals_are_reported(text: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        load_scenario_text(HEAD + f"timeline:\n  - {{at: 10s, hsm: {text}}}\n")


def test_hsm_refuses_a_batch_naming_a_refused_id_and_takes_the_others() -> None:
    hsm = MockHsm(nodes=["x1000c0s0b0n0", "x1000c0s1b0n0"], node_state="Ready")
    hsm.set_faults(Faults(refuse_ids=frozenset({"x1000c0s0b0n0"}), refuse_status=400))
    body = b'{"ComponentIDs":["x1000c0s1b0n0","x1000c0s0b0n0"],"State":"Ready","Flag":"Warning"}'
    with pytest.raises(HsmProblem) as refused:
        hsm.patch_bulk_state_data(body, now=1.0)
    assert (refused.value.status, refused.value.detail) == (400, "invalid xname ID")
    good = b'{"ComponentIDs":["x1000c0s1b0n0"],"State":"Ready","Flag":"Warning"}'
    assert hsm.patch_bulk_state_data(good, now=2.0) is not None
    with pytest.raises(HsmProblem):
        hsm.patch_state_data("x1000c0s0b0n0", b'{"State":"Ready","Flag":"Warning"}', now=3.0)


def test_refusals_go_through_the_mock_control_api() -> None:
    hsm = MockHsm(nodes=["x1000c0s0b0n0"])
    faults = hsm.update_faults({"refuse_ids": ["x1000c0s0b0n0"], "refuse_status": 401})
    assert faults.refuse_ids == frozenset({"x1000c0s0b0n0"})
    assert faults.to_json()["refuse_ids"] == ["x1000c0s0b0n0"]
    with pytest.raises(HsmProblem, match="must be a list"):
        hsm.update_faults({"refuse_ids": "x1000c0s0b0n0"})


def test_a_shutdown_freezes_the_truth_and_the_next_beat_starts_again() -> None:
    truth = Truth(["a"], ("On", "OK"), [ParamEpoch(0.0, 5.0, 10.0)])
    truth.delivered(0, 0.0)
    truth.shutdown(0, 1.0)
    truth.delivered(0, 60.0)  # a minute later: no warning in between, a new start
    truth.close(61.0)
    assert [c.cause for c in truth.history("a")] == ["initial", "started", "started"]


def test_clean_shutdown_scenario_passes_and_sends_shutdown_heartbeats() -> None:
    result = run_scenario(load_scenario(SCENARIO_DIR / "clean-shutdown.yaml"))
    assert result.passed
    # The shut-down nodes never got anything but Ready/OK.
    shut = result.record.selection.resolve(result.scenario.named["shut_down"])
    for request in result.record.requests:
        body = request.body
        if isinstance(body, dict) and set(body.get("ComponentIDs", ())) & set(shut):
            assert (body["State"], body["Flag"]) == ("Ready", "OK")


def test_the_malformed_id_scenario_gets_the_others_through() -> None:
    result = run_scenario(load_scenario(SCENARIO_DIR / "hsm-refuses-malformed-id.yaml"))
    assert result.passed
    refused = [r for r in result.record.requests if r.status == 400]
    assert refused, "the bad ID was in a batch HSM refused"

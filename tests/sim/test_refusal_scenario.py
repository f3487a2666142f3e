"""#13's scenario: HSM refuses with 400, then 401, during a failure wave; nothing is lost.

The tracker that gave a refused state up (the behaviour before #13) fails it.
"""

from __future__ import annotations

from typing import Any

from hb_sim import RunOptions, load_scenario, run_scenario
from hbtd_server.core import HsmLedger, HsmPatch
from tests.sim.runs import engine_with
from tests.sim.shipped import SCENARIO_DIR

SCENARIO = SCENARIO_DIR / "hsm-refuses-during-failure-wave.yaml"


class ForgetsRefusals(HsmLedger):
    """Drops a refused state for good, as a 4xx was treated before #13."""

    def refuse(self, patch: HsmPatch, **kwargs: Any) -> None:
        super().refuse(patch, **kwargs)
        for xname in patch.xnames:
            self._held.pop(xname, None)
            self._refusals.pop(xname, None)


def test_every_refused_state_arrives_and_hsm_ends_at_the_truth() -> None:
    result = run_scenario(load_scenario(SCENARIO), RunOptions())
    assert result.passed, [v.name for v in result.verdicts if not v.passed]


def test_a_tracker_that_forgets_refused_states_fails_it() -> None:
    result = run_scenario(
        load_scenario(SCENARIO), RunOptions(engine_factory=engine_with(ForgetsRefusals))
    )
    failed = {v.name for v in result.verdicts if not v.passed}
    assert "final_state_matches_truth" in failed

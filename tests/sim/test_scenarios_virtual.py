"""Every shipped scenario passes in virtual time against hbtd's own tracker (issue #4, point 1).

Each runs whole, at its full fleet size, in one ``trio.run`` on a MockClock; together they
take well under a minute of wall time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hb_sim import RunResult, load_scenario, run_scenario
from tests.sim.shipped import ISSUE_SCENARIOS, SCENARIO_FILES


def explain(result: RunResult) -> str:
    """The failed checks, for the assertion message."""
    lines = [f"{result.scenario.name} failed:"]
    for verdict in result.verdicts:
        if not verdict.passed:
            lines.append(f"  {verdict.name}: expected {verdict.expected}; seen {verdict.seen}")
            lines.extend(f"    {detail}" for detail in verdict.details)
    return "\n".join(lines)


def test_the_ten_issue_scenarios_are_shipped() -> None:
    names = {path.stem for path in SCENARIO_FILES}
    assert names >= ISSUE_SCENARIOS


#: Scenarios today's tracker is known to fail, and why (strict: they must start passing).
KNOWN_FAILURES: dict[str, str] = {
    "flap-during-hsm-outage": (
        "hbtd's in-request retries (Sm_retries) resend a state the ledger replaced meanwhile"
    ),
}


def _param(path: Path) -> object:
    reason = KNOWN_FAILURES.get(path.stem)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in SCENARIO_FILES])
def test_scenario_passes_in_virtual_time(path: Path) -> None:
    result = run_scenario(load_scenario(path))
    assert result.passed, explain(result)
    assert result.verdicts, "a scenario without checks proves nothing"
    # Every node beat all along, except while an event stopped it.
    assert result.heartbeats_delivered > 0

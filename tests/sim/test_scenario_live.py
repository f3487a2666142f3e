"""One shipped scenario in live time, through ``hb-sim run``: a real ``hbtd`` process, the
mock HSM on a socket, the fleet over real keep-alive connections (issue #4, point 1, second
half). About 35 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hb_sim.cli import main

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "quick-death.yaml"


@pytest.mark.integration
def test_quick_death_passes_against_a_real_hbtd(tmp_path: Path) -> None:
    report = tmp_path / "report"
    outcome = CliRunner().invoke(
        main, ["run", str(SCENARIO), "--clock", "live", "--report", str(report)]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "quick-death (live time, seed 11): passed" in outcome.output
    result = json.loads((report / "result.json").read_text())
    assert result["clock"] == "live"
    assert result["target"].startswith("hbtd process at http://127.0.0.1:")
    # 32 nodes at 1 s for 30 s, one of them away for 10 s; all answered.
    assert 900 <= result["heartbeats_delivered"] <= 960
    assert result["heartbeats_failed"] == 0
    assert result["hsm_requests"] > 0
    assert "hbtd starting with" in (report / "tracker.log").read_text()

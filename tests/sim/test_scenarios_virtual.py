"""The shipped scenarios, as the suite plays them: through hb-sim's pytest plugin.

``testpaths`` names ``scenarios``, so a bare ``pytest`` collects each shipped scenario as one
item and plays it in virtual time against hbtd's own tracker (issue #4, point 1); live-only
ones are skipped with their reason. These tests check what that rests on, without playing.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from hb_sim import RunResult, load_scenario
from hb_sim.run import verdict_text
from tests import REPO
from tests.sim.shipped import ISSUE_SCENARIOS, SCENARIO_FILES


def explain(result: RunResult) -> str:
    """The verdicts, failed checks first, for an assertion message (other tests use it)."""
    return verdict_text(result)


def test_the_ten_issue_scenarios_are_shipped() -> None:
    names = {path.stem for path in SCENARIO_FILES}
    assert names >= ISSUE_SCENARIOS


def test_every_shipped_scenario_checks_something_and_is_named_after_its_file() -> None:
    for path in SCENARIO_FILES:
        scenario = load_scenario(path)
        assert scenario.expectations or scenario.invariants, path  # else it proves nothing
        assert scenario.name == path.stem
    assert "virtual" in load_scenario(SCENARIO_FILES[0]).clocks


#: Scenarios named twice over, and a test file.
PATHS = ("scenarios", "scenarios/quick-death.yaml", "tests/sim/test_scenarios_virtual.py")


def test_the_suite_collects_every_scenario_once_beside_the_tests() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    assert config["ini_options"]["testpaths"] == ["tests", "scenarios"]
    # What a bare ``pytest`` collects: tests/ and scenarios/, and no scenario twice (the
    # plugin comes from the entry point only; naming scenarios/ again adds nothing).
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *PATHS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    scenario_ids = [i for i in ids if i.startswith("scenarios/")]
    assert sorted(scenario_ids) == [f"scenarios/{p.name}::{p.stem}" for p in SCENARIO_FILES]
    assert any(i.startswith("tests/sim/test_scenarios_virtual.py::") for i in ids)

"""``hb-sim run``: exit codes 0 / 1 / 2, the verdict table, JUnit and the report folder."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from hb_sim.cli import main
from tests.sim.shipped import SCENARIO_DIR

FAILING = """
name: expects-too-much
duration: 30s
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
expect:
  - {name: dead without dying, at: 20s, nodes: x1000c0s0b0n0, state: Standby, flag: Alert}
"""


def test_a_passing_scenario_exits_0_and_prints_the_verdicts(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(
        main, ["run", str(SCENARIO_DIR / "single-node-death.yaml"), "--junit", str(junit)]
    )
    assert result.exit_code == 0, result.output
    assert "single-node-death (virtual time, seed 2): passed" in result.output
    assert "heartbeats delivered" in result.output
    assert ET.parse(junit).getroot().find("testsuite") is not None


def test_a_failing_expectation_exits_1_and_writes_the_report(tmp_path: Path) -> None:
    scenario = tmp_path / "expects-too-much.yaml"
    scenario.write_text(FAILING)
    report = tmp_path / "report"
    result = CliRunner().invoke(main, ["run", str(scenario), "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    assert "dead without dying" in result.output
    assert sorted(p.name for p in report.iterdir()) == [
        "junit.xml",
        "result.json",
        "timeline.svg",
        "tracker.log",
    ]
    verdicts = json.loads((report / "result.json").read_text())["verdicts"]
    assert [v["passed"] for v in verdicts if v["name"] == "dead without dying"] == [False]


def test_seed_overrides_the_scenario(tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        ["run", str(SCENARIO_DIR / "flapping-node.yaml"), "--seed", "99", "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((report / "result.json").read_text())["seed"] == 99


def test_a_bad_scenario_exits_2_with_file_and_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("name: bad\nduration: soon\nfleet: {ranges: x1000c0s0b0n0}\n")
    result = CliRunner().invoke(main, ["run", str(scenario)])
    assert result.exit_code == 2
    assert f"{scenario}:2:" in result.output


def test_bad_usage_exits_2() -> None:
    path = str(SCENARIO_DIR / "single-node-death.yaml")
    result = CliRunner().invoke(main, ["run", path, "--target", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--target and --hsm need --clock live" in result.output
    result = CliRunner().invoke(main, ["run", path, "--clock", "sideways"])
    assert result.exit_code == 2

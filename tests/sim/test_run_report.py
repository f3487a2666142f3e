"""The outputs of a run: verdict table, JUnit XML, JSON result and the timeline SVG.

The SVG is checked by parsing it, as a browser would, not by looking at it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

from hb_sim import RunResult, load_scenario, run_scenario, write_report
from hb_sim.run import junit_xml, timeline_svg
from tests.sim.runs import failing, verdict_text
from tests.sim.shipped import SCENARIO_DIR

SCENARIO = SCENARIO_DIR / "single-node-death.yaml"
SVG = "{http://www.w3.org/2000/svg}"


@cache
def passing() -> RunResult:
    return run_scenario(load_scenario(SCENARIO))


def test_verdict_table_lists_each_check_with_expected_and_seen() -> None:
    text = verdict_text(failing())
    assert "single-node-death (virtual time, seed 2): FAILED" in text
    assert "the victim is warned about" in text
    assert "FAIL" in text
    assert "Ready/Warning at 1m14s, 1 node(s)" in text
    assert "Ready/Warning expected at 74.0 s, was Ready/OK since 1.4 s" in " ".join(text.split())
    assert "passed" in verdict_text(passing()).splitlines()[0]


def test_junit_has_one_case_per_check_and_failures_for_the_broken() -> None:
    root = ET.fromstring(junit_xml(failing()))
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(failing().verdicts) == int(suite.get("tests", "0"))
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "the victim is warned about" in failed
    assert int(suite.get("failures", "0")) == len(failed)
    warned = next(c for c in cases if c.get("name") == "the victim is warned about")
    assert warned.get("line") == "33"  # its "- name:" line
    assert warned.get("file", "").endswith("single-node-death.yaml")
    # An invariant points at its own key; one left at its default, at the section's key.
    lines = SCENARIO.read_text().splitlines()
    where = {c.get("name"): int(c.get("line", "0")) for c in cases}
    assert lines[where["final_state_matches_truth"] - 1].startswith("  final_state_matches_truth:")
    assert lines[where["max_detection_lateness"] - 1] == "invariants:"  # not written: default


def test_json_result_round_trips(tmp_path: Path) -> None:
    written = write_report(passing(), tmp_path)
    assert sorted(p.name for p in written) == ["junit.xml", "result.json", "timeline.svg"]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["scenario"] == "single-node-death"
    assert result["passed"] is True
    assert result["clock"] == "virtual"
    assert result["nodes"] == 64
    assert result["heartbeats_delivered"] == passing().heartbeats_delivered
    assert [e["label"] for e in result["events"]] == [
        "die x1000c0s3b0n1 (as 'victim')",
        "revive set 'victim'",
    ]
    assert all(v["passed"] for v in result["verdicts"])


def test_timeline_svg_draws_counts_and_marks_events() -> None:
    svg = ET.fromstring(timeline_svg(passing()))
    assert svg.tag == f"{SVG}svg"
    series = {p.get("data-label"): p for p in svg.iter(f"{SVG}polyline")}
    assert {"Ready/OK", "Ready/Warning", "Standby/Alert", "On/OK"} <= set(series)
    ready = [
        tuple(map(float, xy.split(","))) for xy in series["Ready/OK"].get("points", "").split()
    ]
    assert len(ready) == 241
    # y grows downwards: Ready/OK starts at the bottom (0 nodes) and ends at the top (64).
    assert ready[0][1] > ready[-1][1]
    events = [line for line in svg.iter(f"{SVG}line") if line.get("class") == "event"]
    assert len(events) == 2
    texts = "".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "die x1000c0s3b0n1" in texts
    assert "Standby/Alert (max 1)" in texts

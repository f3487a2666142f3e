"""``hb-sim run`` over many files and folders: validation first, a block per scenario, the
summary table last, one JUnit file, the exit status, and ``--jobs``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from hb_sim._batch import Played, Result, exit_status
from hb_sim.cli import main
from tests.sim.shipped import SCENARIO_DIR
from tests.sim.test_pytest_plugin import FAILS, LIVE_ONLY, NOT_A_SCENARIO, PASSES


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a passing, a failing and a live-only scenario, and other YAML."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name, text in (("a", PASSES), ("b", FAILS), ("c", LIVE_ONLY), ("job", NOT_A_SCENARIO)):
        (folder / f"{name}.yaml").write_text(text)
    (folder / "more").mkdir()
    (folder / "more" / "d.yaml").write_text(PASSES.replace("tiny-passes", "tiny-too"))
    return folder


def suites(junit: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Each suite's cases: (name, line, outcome)."""
    found = {}
    for suite in ET.parse(junit).getroot().findall("testsuite"):
        cases = []
        for case in suite.findall("testcase"):
            kinds = [c.tag for c in case if c.tag in ("failure", "skipped", "error")]
            cases.append((case.get("name", ""), case.get("line", ""), (kinds or ["pass"])[0]))
        found[suite.get("name", "")] = cases
    return found


def without_wall_times(output: str) -> str:
    return re.sub(r"\d+\.\d s( wall)?|\(\d[\d,]*/s", "T", output)


def test_a_folder_with_one_failing_scenario_exits_1_and_the_table_names_it(
    folder: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(main, ["run", str(folder), "--junit", str(junit)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("scenario "))
    table = lines[header:]
    assert [line.split()[:2] for line in table[1:-1]] == [
        ["tiny-passes", "PASSED"],
        ["tiny-fails", "FAILED"],
        ["tiny-live", "SKIPPED"],
        ["tiny-too", "PASSED"],
    ]
    assert "1 of 6" in table[2]  # the failing one's checks failed
    assert "meant for live time only" in table[3]
    assert re.fullmatch(r"4 scenarios: 2 passed, 1 failed, 1 skipped in \d+\.\d s wall", table[-1])
    # One verdict block per played scenario, each ending in its summary line, before the table.
    assert [line for line in lines[:header] if line.startswith(("PASSED:", "FAILED:"))] == [
        "PASSED: tiny-passes: 6 of 6 checks passed",
        "FAILED: tiny-fails: 5 of 6 checks passed, 1 failed",
        "PASSED: tiny-too: 6 of 6 checks passed",
    ]
    found = suites(junit)
    names = ["tiny-passes", "tiny-fails", "tiny-live", "tiny-too"]
    assert list(found) == [f"hb-sim.{name}" for name in names]
    assert found["hb-sim.tiny-live"] == [("tiny-live", "1", "skipped")]
    assert ("dead without dying", "5", "failure") in found["hb-sim.tiny-fails"]
    # Invariants point at their section, or the scenario's first line when it has none.
    assert all(line != "0" for cases in found.values() for _, line, _ in cases)


def test_every_file_is_validated_before_any_is_played(folder: Path) -> None:
    (folder / "bad.yaml").write_text("name: bad\nduration: soon\nfleet: {ranges: x1000c0s0b0n0}\n")
    (folder / "twin.yaml").write_text(PASSES)  # a second tiny-passes
    result = CliRunner().invoke(main, ["run", str(folder)])
    assert result.exit_code == 2, result.output
    assert f"{folder / 'bad.yaml'}:2:11: duration: expected a duration" in result.output
    assert f"{folder / 'twin.yaml'}:1:1: name: 'tiny-passes' is also the name of " in result.output
    assert "2 of 6 scenario(s) invalid: nothing played" in result.output
    assert "heartbeats delivered" not in result.output


def test_a_missing_file_is_a_bad_file_and_an_empty_folder_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nowhere.yaml")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'nowhere.yaml'}: cannot read: " in result.output
    assert "1 of 1 scenario(s) invalid: nothing played" in result.output
    result = CliRunner().invoke(main, ["run", str(tmp_path)])
    assert result.exit_code == 2
    assert "no scenario file in" in result.output


def test_jobs_2_gives_the_same_results_as_a_serial_run(folder: Path, tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.xml", tmp_path / "parallel.xml"
    one = CliRunner().invoke(main, ["run", str(folder), "--junit", str(serial)])
    two = CliRunner().invoke(main, ["run", str(folder), "--junit", str(parallel), "--jobs", "2"])
    assert (one.exit_code, two.exit_code) == (1, 1), two.output
    assert suites(parallel) == suites(serial)
    assert without_wall_times(two.output) == without_wall_times(one.output)


def test_piped_output_is_neither_padded_nor_wrapped(folder: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(folder / "b.yaml")])
    lines = result.output.splitlines()
    assert all(line == line.rstrip() for line in lines)
    seen = next(line for line in lines if "Standby/Alert expected at 20.0 s" in line)
    assert len(seen) > 80  # one line, as long as the message is
    assert lines[0] == "tiny-fails (virtual time, seed 0): FAILED"
    assert lines[-1].startswith("FAILED: tiny-fails: ")  # one scenario: no table


def test_several_reports_go_to_a_folder_each(folder: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    CliRunner().invoke(
        main, ["run", str(folder / "a.yaml"), str(folder / "b.yaml"), "--report", str(report)]
    )
    assert sorted(p.name for p in report.iterdir()) == ["tiny-fails", "tiny-passes"]
    assert (report / "tiny-fails" / "tracker.log").exists()


def played(result: Result) -> Played:
    return Played(
        name=result, path="", result=result, checks=1, failed=0, wall_seconds=0, block="", suite=b""
    )


@pytest.mark.parametrize(
    ("results", "status"),
    [
        (["passed", "skipped"], 0),
        (["passed", "inconclusive"], 3),
        (["error", "inconclusive"], 2),
        (["failed", "error", "inconclusive"], 1),
    ],
)
def test_exit_status_across_scenarios(results: list[Result], status: int) -> None:
    assert exit_status([played(r) for r in results]) == status


def test_validate_takes_folders_too(folder: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.splitlines()] == [
        str(folder / name) for name in ("a.yaml", "b.yaml", "c.yaml", "more/d.yaml")
    ]


def test_a_scenario_that_cannot_be_played_this_way_is_an_error(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    argv = ["run", str(SCENARIO_DIR / "tracker-restart.yaml"), "--junit", str(junit)]
    argv += ["--clock", "live", "--target", "http://127.0.0.1:1"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        "ERROR: tracker-restart: cannot run: "
        "tracker_restart needs a tracker the runner starts (no --target)"
    )
    assert suites(junit) == {"hb-sim.tracker-restart": [("tracker-restart", "6", "error")]}

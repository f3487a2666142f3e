"""hb-sim's pytest plugin, run by pytest itself (``pytester``): what it collects, how a failed,
an inconclusive and a live-only scenario are reported, its options, and ``-n 2``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import hb_sim.run
from hb_sim import RunOptions, RunResult
from hb_sim.fleet import ScheduleGap
from hb_sim.ports import free_port, worker_ports
from tests.sim.shipped import SCENARIO_DIR

pytest_plugins = ("pytester",)

#: Small scenarios (a few tenths of a second each): one passes, one fails, one is live-only.
PASSES = """\
name: tiny-passes
duration: 30s
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
expect:
  - {name: all ready, by: 10s, nodes: all, state: Ready, flag: OK}
"""
FAILS = """\
name: tiny-fails
duration: 30s
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
expect:
  - {name: dead without dying, at: 20s, nodes: x1000c0s0b0n0, state: Standby, flag: Alert}
"""
LIVE_ONLY = """\
name: tiny-live
duration: 30s
clocks: live
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
"""
#: YAML that is not a scenario, though it has a name and a duration.
NOT_A_SCENARIO = """\
name: a-ci-job
duration: 5m
steps:
  - fleet: not at the top level
"""
#: A broken tracker for the plugin's hook: hbtd's engine that never warns.
BROKEN_CONFTEST = """\
from tests.sim.runs import NeverWarns

def pytest_hb_sim_run_options(item, options):
    import dataclasses
    return dataclasses.replace(options, engine_factory=lambda p, c: NeverWarns(p, clock=c))
"""


def write(pytester: pytest.Pytester, **files: str) -> None:
    for name, text in files.items():
        (pytester.path / f"{name}.yaml").write_text(text)


def outcomes(junit: Path) -> dict[str, str]:
    """Each test case of a pytest JUnit file, by name: passed, failure, skipped or error."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "skipped", "error")]
        found[case.get("name", "")] = kinds[0] if kinds else "passed"
    return found


def test_one_item_per_scenario_other_yaml_left_alone(pytester: pytest.Pytester) -> None:
    write(pytester, passes=PASSES, fails=FAILS, live=LIVE_ONLY, job=NOT_A_SCENARIO)
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    ids = sorted(line for line in result.outlines if "::" in line)
    assert ids == ["fails.yaml::tiny-fails", "live.yaml::tiny-live", "passes.yaml::tiny-passes"]


def test_outcomes_junit_and_skip_reasons(pytester: pytest.Pytester) -> None:
    write(pytester, passes=PASSES, fails=FAILS, live=LIVE_ONLY)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", f"--junitxml={junit}")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert outcomes(junit) == {
        "tiny-passes": "passed",
        "tiny-fails": "failure",
        "tiny-live": "skipped",
    }
    # The skip names the scenario's file and line, and how to play it.
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] live.yaml:1: meant for live time only (its clocks), not virtual: "
            "play it with --hb-clock live"
        ]
    )
    # The failure shows the verdicts as hb-sim run prints them: failed checks first.
    text = result.stdout.str()
    assert "fails.yaml:1: FAILED: tiny-fails: " in text
    assert text.index("FAIL dead without dying (line 5)") < text.index("pass no_false_alarms")


def test_k_and_x_select_and_stop(pytester: pytest.Pytester) -> None:
    write(pytester, a_fails=FAILS, b_passes=PASSES)
    pytester.runpytest("-p", "no:cacheprovider", "-k", "passes").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "-x").assert_outcomes(failed=1)


def test_a_bad_scenario_is_a_collection_error_with_file_and_line(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, bad="name: bad\nduration: soon\nfleet: {ranges: x1000c0s0b0n0}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*bad.yaml:2:11: duration: expected a duration*"])


def test_a_pattern_decides_instead_of_the_content(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nhb_sim_scenarios = *.scn.yaml\n")
    write(pytester, passes=PASSES, **{"other.scn": PASSES.replace("tiny-passes", "by-pattern")})
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert [line for line in result.outlines if "::" in line] == ["other.scn.yaml::by-pattern"]


def test_options_seed_report_and_usage(pytester: pytest.Pytester) -> None:
    write(pytester, passes=PASSES)
    report = pytester.path / "report"
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--hb-seed", "7", "--hb-report", str(report)
    )
    result.assert_outcomes(passed=1)
    folder = report / "tiny-passes"
    assert sorted(p.name for p in folder.iterdir()) == [
        "junit.xml",
        "result.json",
        "timeline.svg",
        "tracker.log",
    ]
    assert '"seed": 7' in (folder / "result.json").read_text()
    bad = pytester.runpytest("-p", "no:cacheprovider", "--hb-target", "http://127.0.0.1:1")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--hb-target and --hb-hsm need --hb-clock live*"])


def test_a_broken_tracker_fails_its_item_with_the_verdict(pytester: pytest.Pytester) -> None:
    # tests/sim/test_broken_trackers.py's tracker that never warns, against the shipped
    # single-node-death, through the plugin's hook.
    shutil.copy(SCENARIO_DIR / "single-node-death.yaml", pytester.path)
    pytester.makeconftest(BROKEN_CONFTEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "single-node-death.yaml:4: FAILED: single-node-death: " in text
    assert "FAIL the victim is warned about (line 33)" in text
    assert (
        "seen: 1 of 1 wrong, e.g. x1000c0s3b0n1: Ready/Warning expected at 74.0 s, "
        "was Ready/OK since 1.4 s" in text
    )
    assert "FAIL max_detection_lateness" in text


def test_an_inconclusive_run_is_skipped_with_its_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    played = hb_sim.run.run_scenario

    def fell_behind(scenario: object, options: RunOptions) -> RunResult:
        result = played(scenario, options)  # type: ignore[arg-type]
        gap = ScheduleGap("x1000c0s0b0n0", 12.0, 6.0, 1.1)
        return dataclasses.replace(result, fleet_gaps=(gap,), fleet_behind=True)

    monkeypatch.setattr(hb_sim.run, "run_scenario", fell_behind)
    write(pytester, fails=FAILS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED*fails.yaml:1: INCONCLUSIVE: tiny-fails: *the fleet fell behind*"]
    )


def test_the_plugin_imports_nothing_heavy_when_pytest_starts() -> None:
    # Every pytest run of a site with the [sim] extra loads the plugin. The packages' export
    # helper lives in hbtd_server.core (sans-IO, standard library only), so the core may come
    # along; nothing with I/O or a third-party framework may.
    probe = (
        "import sys; import hb_sim.pytest_plugin; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'trio', 'yaml', 'rich', "
        "'httpx', 'quart', 'hypercorn', 'click', 'orjson', 'confluent_kafka'}), "
        "sorted({'.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith('hbtd_server.')}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() in ("[] []", "[] ['hbtd_server.core']"), out.stdout + out.stderr


def test_dash_n_2_gives_the_same_results_as_a_serial_run(pytester: pytest.Pytester) -> None:
    write(pytester, passes=PASSES, fails=FAILS, live=LIVE_ONLY)
    (pytester.path / "passes_too.yaml").write_text(PASSES.replace("tiny-passes", "tiny-too"))
    serial, parallel = pytester.path / "serial.xml", pytester.path / "parallel.xml"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={serial}")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", f"--junitxml={parallel}"
    )
    result.stdout.fnmatch_lines(["*2 workers*"])
    assert outcomes(parallel) == outcomes(serial)
    assert outcomes(serial) == {
        "tiny-passes": "passed",
        "tiny-too": "passed",
        "tiny-fails": "failure",
        "tiny-live": "skipped",
    }


SHORT_LIVE = """\
name: short-live
duration: 8s
fleet: {ranges: ["x1000c0s0b0n[0-1]"]}
agents: {interval: 1s}
tracker: {warntime: 3s, errtime: 6s, interval: 1s}
"""


def test_each_xdist_worker_has_its_own_block_of_ports() -> None:
    assert worker_ports("gw0") == range(20000, 20100)
    assert worker_ports("gw3") == range(20300, 20400)
    assert worker_ports(None) is None
    assert worker_ports("master") is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert free_port(within=range(port, port + 1)) != port  # taken: the OS picks
    first = free_port(within=range(21000, 21100))
    assert 21000 <= first < 21100


@pytest.mark.integration
def test_live_time_through_the_plugin_on_the_workers_ports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")  # as pytest-xdist's eighth worker
    write(pytester, short=SHORT_LIVE)
    report = pytester.path / "report"
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--hb-clock", "live", "--hb-report", str(report)
    )
    result.assert_outcomes(passed=1)
    played = json.loads((report / "short-live" / "result.json").read_text())
    assert played["clock"] == "live"
    port = int(played["target"].rsplit(":", 1)[1])
    assert port in range(20700, 20800)

"""Scenario files: the shipped ones validate; broken ones are rejected with located messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from hb_sim import ScenarioError, load_scenario, load_scenario_text
from hb_sim.cli import main
from hb_sim.hsm import Faults
from hb_sim.scenario import (
    Cabinets,
    DelayHeartbeats,
    HsmChange,
    NodesDie,
    NodesFlap,
    ParamsPatch,
    TrackerRestart,
    parse_duration,
)
from tests import REPO
from tests.sim.shipped import ISSUE_SCENARIOS, SCENARIO_DIR, SCENARIO_FILES

BASE = """\
name: t
duration: 5m
fleet:
  topology: {cabinets: 2}
"""


def load(text: str) -> list[str]:
    """Load ``text`` and return the issues as strings (empty when valid)."""
    try:
        load_scenario_text(textwrap.dedent(text), "s.yaml")
    except ScenarioError as exc:
        return [str(issue) for issue in exc.issues]
    return []


def test_every_issue_scenario_is_shipped() -> None:
    assert {load_scenario(path).name for path in SCENARIO_FILES} >= ISSUE_SCENARIOS


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_shipped_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.expectations, "a shipped scenario checks something"
    selection = scenario.selection()
    for event in scenario.timeline:
        if hasattr(event, "nodes"):
            assert selection.resolve(event.nodes)
    for expectation in scenario.expectations:
        assert selection.resolve(expectation.nodes)
        assert expectation.deadline <= scenario.duration


def test_steady_state_is_ten_thousand_nodes() -> None:
    scenario = load_scenario(SCENARIO_DIR / "steady-state-10k.yaml")
    assert len(scenario.fleet.nodes) == 10_000
    assert scenario.agents.interval == 3.0
    assert scenario.fleet.cabinets[0] == "x1000"
    assert len(scenario.fleet.cabinets) == 40


def test_validate_command() -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["validate", *map(str, SCENARIO_FILES)])
    assert good.exit_code == 0, good.output
    assert good.output.count(": ok (") == len(SCENARIO_FILES)


def test_validate_command_reports_located_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "agents:\n  interval: soon\n")
    result = CliRunner().invoke(main, ["validate", str(SCENARIO_FILES[0]), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:6:13: agents.interval: expected a duration" in result.stderr
    assert "1 of 2 scenarios invalid" in result.stderr
    missing = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", ["s.yaml: the file is empty"], id="empty"),
        pytest.param(
            "name: [unclosed\n",
            ["s.yaml:2:1: not valid YAML: expected ',' or ']', but got '<stream end>'"],
            id="yaml-syntax",
        ),
        pytest.param(
            "- just\n- a list\n",
            [
                "s.yaml:1:1: expected a mapping with keys name, description, seed, duration, "
                "fleet, agents, tracker, hsm, timeline, expect, invariants, clocks, got a list"
            ],
            id="not-a-mapping",
        ),
        pytest.param(
            "name: t\n",
            [
                "s.yaml:1:1: duration: missing required key",
                "s.yaml:1:1: fleet: missing required key",
            ],
            id="missing-keys",
        ),
        pytest.param(
            BASE + "durration: 3m\n",
            [
                "s.yaml:5:1: durration: unknown key; did you mean 'duration'? expected one of "
                "name, description, seed, duration, fleet, agents, tracker, hsm, timeline, "
                "expect, invariants, clocks"
            ],
            id="typo-key",
        ),
        pytest.param(
            BASE.replace("name: t", "name: my scenario"),
            ["s.yaml:1:7: name: expected letters, digits, '_', '.' or '-', got 'my scenario'"],
            id="bad-name",
        ),
        pytest.param(
            BASE + "name: again\n",
            ["s.yaml:5:1: name: duplicate key (first set on line 1)"],
            id="duplicate-key",
        ),
        pytest.param(
            BASE.replace("5m", "1:30"),
            [
                "s.yaml:2:11: duration: expected a duration such as 30s, 1m30s, 500ms or a number "
                "of seconds, got '1:30'"
            ],
            id="sexagesimal-duration",
        ),
        pytest.param(
            "name: t\nduration: 5m\nfleet:\n  ranges: ['x1000c0s0b0n[0-1]', x3000]\n",
            [
                "s.yaml:4:33: fleet.ranges[1]: expected node xnames such as x1000c0s0b0n0, but "
                "'x3000' gives 'x3000'"
            ],
            id="fleet-not-nodes",
        ),
        pytest.param(
            "name: t\nduration: 5m\nfleet:\n  ranges: 'x1000c[0-9]s0b0n0'\n",
            [
                "s.yaml:4:11: fleet.ranges: expected node xnames such as x1000c0s0b0n0, but "
                "'x1000c[0-9]s0b0n0' gives 'x1000c8s0b0n0'"
            ],
            id="fleet-bad-chassis",
        ),
        pytest.param(
            "name: t\nduration: 5m\nfleet:\n  topology: {cabinets: 400, slots: 64}\n",
            ["s.yaml:4:13: fleet.topology: 819200 nodes is more than the 100000 allowed"],
            id="fleet-too-big",
        ),
        pytest.param(
            "name: t\nduration: 5m\nfleet:\n  topology: {cabinets: 1}\n  ranges: [x1000c0s0b0n0]\n",
            ["s.yaml:4:3: fleet: expected exactly one of ranges and topology"],
            id="fleet-both",
        ),
        pytest.param(
            BASE + "tracker: {warntime: 20s, errtime: 10s}\n",
            ["s.yaml:5:35: tracker.errtime: expected more than warntime (20s), got 10s"],
            id="errtime-below-warntime",
        ),
        pytest.param(
            BASE + "agents: {interval: 12s}\n",
            [
                "s.yaml:5:9: agents.interval: expected less than tracker.warntime (10s), got 12s: "
                "every node would warn"
            ],
            id="interval-above-warntime",
        ),
        pytest.param(
            BASE + "tracker:\n  params: {Port: 80, Sm_timout: 3}\n",
            [
                "s.yaml:6:12: tracker.params.Port: Port is read-only in PATCH /params",
                "s.yaml:6:22: tracker.params.Sm_timout: unknown parameter; did you mean "
                "'Sm_timeout'? expected one of Debug, Nosm, Use_telemetry, Telemetry_host, "
                "Warntime, Errtime, Kv_url, Interval, Sm_url, Sm_timeout, Sm_retries, "
                "Guard_share, Guard_min, Guard_hold, Reconcile_interval",
            ],
            id="bad-params",
        ),
        pytest.param(
            BASE + "hsm: {initial_state: Awake, error_rate: 2}\n",
            [
                "s.yaml:5:22: hsm.initial_state: expected one of Unknown, Empty, Populated, Off, "
                "On, Standby, Halt, Ready, got 'Awake'",
                "s.yaml:5:41: hsm.error_rate: expected a number from 0 to 1, got '2'",
            ],
            id="bad-hsm",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10m\n    die: all\n",
            ["s.yaml:6:9: timeline[0].at: 10m is after the end of the run (duration 5m)"],
            id="event-after-end",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: all\n    revive: all\n",
            [
                "s.yaml:6:5: timeline[0]: expected exactly one action of die, revive, flap, "
                "partition, heal, shutdown, delay, hsm, tracker_restart, params, power_off, "
                "power_on, operator, hsm_restore; got die, revive"
            ],
            id="two-actions",
        ),
        pytest.param(
            BASE + "timeline:\n  - die: all\n",
            ["s.yaml:6:5: timeline[0].at: missing required key"],
            id="event-without-time",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: x1005\n",
            ["s.yaml:7:10: timeline[0].die: cabinet x1005 is not in the fleet"],
            id="cabinet-not-in-fleet",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: x2000c0s0b0n[0-3]\n",
            ["s.yaml:7:10: timeline[0].die: x2000c0s0b0n[0-3] selects no node of the fleet"],
            id="selects-nothing",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: {random: 5000}\n",
            ["s.yaml:7:19: timeline[0].die.random: cannot draw 5000 nodes from a pool of 512"],
            id="random-too-many",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: {ref: victims}\n",
            [
                "s.yaml:7:16: timeline[0].die.ref: no selector named 'victims' is defined before "
                "this point (defined: none)"
            ],
            id="unknown-ref",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: {glob: 'x1000*', cabinet: x1000}\n",
            [
                "s.yaml:7:10: timeline[0].die: expected exactly one of all, xnames, glob, range, "
                "cabinet, random, ref; got glob, cabinet"
            ],
            id="two-selector-kinds",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    die: {xnames: [x1000c0s0b0n0, x1009c0s0b0n0]}\n",
            ["s.yaml:7:35: timeline[0].die.xnames[1]: x1009c0s0b0n0 is not in the fleet"],
            id="xname-not-in-fleet",
        ),
        pytest.param(
            BASE
            + "timeline:\n  - at: 10s\n    flap: {nodes: all, period: 10s, down: 20s, count: 0}\n",
            [
                "s.yaml:7:43: timeline[0].flap.down: expected less than the period (10s), got 20s",
                "s.yaml:7:55: timeline[0].flap.count: expected an integer of at least 1, got 0",
            ],
            id="bad-flap",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    hsm: sideways\n",
            [
                "s.yaml:7:10: timeline[0].hsm: expected one of ok, up, down, unready, error, "
                "errors or a mapping of mode, latency, error_rate, error_status, got 'sideways'"
            ],
            id="bad-hsm-mode",
        ),
        pytest.param(
            BASE + "timeline:\n  - at: 10s\n    params: {Warntime: 30s}\n",
            [
                "s.yaml:6:5: timeline[0].params: after this patch errtime (20s) is not more than "
                "warntime (30s)"
            ],
            id="params-patch-inverts",
        ),
        pytest.param(
            BASE + "expect:\n  - at: 1m\n    by: 2m\n    nodes: all\n    state: Ready\n",
            ["s.yaml:6:5: expect[0]: expected exactly one of at and by"],
            id="at-and-by",
        ),
        pytest.param(
            BASE + "expect:\n  - at: 1m\n    nodes: all\n",
            ["s.yaml:6:5: expect[0]: expected at least one of state, flag and heartbeating"],
            id="expect-nothing",
        ),
        pytest.param(
            BASE + "expect:\n  - at: 1m\n    nodes: all\n    state: Ready\n    flag: Bad\n",
            [
                "s.yaml:9:11: expect[0].flag: expected one of Unknown, OK, Warning, Alert, "
                "Locked, got 'Bad'"
            ],
            id="bad-flag",
        ),
        pytest.param(
            BASE + "expect:\n  - by: 1m\n    after: 2m\n    nodes: all\n    state: Ready\n",
            ["s.yaml:7:12: expect[0].after: expected at most by (1m), got 2m"],
            id="after-past-by",
        ),
        pytest.param(
            BASE + "invariants: {max_patches_per_wave: many, no_false_alarms: maybe}\n",
            [
                "s.yaml:5:36: invariants.max_patches_per_wave: expected an integer of at least 1, "
                "got 'many'",
                "s.yaml:5:59: invariants.no_false_alarms: expected true or false, got 'maybe'",
            ],
            id="bad-invariants",
        ),
    ],
)
def test_broken_scenarios(text: str, expected: list[str]) -> None:
    assert load(text) == expected


def test_many_errors_are_reported_at_once() -> None:
    issues = load(
        BASE
        + "agents: {interval: x}\n"
        + "timeline:\n  - at: soon\n    die: all\n"
        + "expect:\n  - at: 1m\n    nodes: nowhere\n    state: Ready\n"
    )
    assert [issue.split(": ")[1] for issue in issues] == [
        "agents.interval",
        "timeline[0].at",
        "expect[0].nodes",
    ]


def test_states_are_not_yaml_booleans() -> None:
    scenario = load_scenario_text(
        BASE + "hsm: {initial_state: On}\nexpect:\n  - at: 1m\n    nodes: all\n    state: Off\n"
    )
    assert scenario.hsm.initial_state == "On"
    assert scenario.expectations[0].state == "Off"


def test_events_are_built_and_sorted() -> None:
    scenario = load_scenario_text(
        BASE
        + textwrap.dedent(
            """\
            seed: 4
            timeline:
              - {at: 2m, tracker_restart: {downtime: 5s}}
              - {at: 1m, hsm: {mode: errors, latency: 250ms, error_status: 503}}
              - {at: 30s, die: {nodes: x1001, spread: 10s}}
              - {at: 1m, params: {warntime: 15, ERRTIME: 30s, nosm: false, sm_retries: 5}}
              - {at: 90s, flap: {nodes: {random: 2, name: flappers}, period: 20s, count: 3}}
              - {at: 100s, delay: {nodes: {ref: flappers}, by: 4s, for: 1m}}
              - {at: 100s, hsm: up}
            """
        )
    )
    timeline = scenario.timeline
    assert [event.at for event in timeline] == [30.0, 60.0, 60.0, 90.0, 100.0, 100.0, 120.0]
    die, errors, params, flap, delay, up, restart = timeline
    assert isinstance(die, NodesDie)
    assert die.spread == 10.0
    assert die.nodes == Cabinets(("x1001",))
    assert isinstance(errors, HsmChange)
    assert errors.faults == Faults(mode="error", latency_ms=250.0, error_status=503)
    assert isinstance(params, ParamsPatch)
    assert params.params == {"Warntime": "15", "Errtime": "30", "Nosm": "0", "Sm_retries": "5"}
    assert isinstance(flap, NodesFlap)
    assert (flap.period, flap.down, flap.count) == (20, 10, 3)
    assert isinstance(delay, DelayHeartbeats)
    assert (delay.by, delay.duration) == (4.0, 60.0)
    assert isinstance(up, HsmChange)
    assert up.faults == Faults()
    assert isinstance(restart, TrackerRestart)
    assert restart.downtime == 5.0
    assert restart.line == 7
    selection = scenario.selection()
    assert selection.resolve(delay.nodes) == selection.resolve(flap.nodes)


def test_random_selection_is_seeded_and_respects_pools() -> None:
    text = (
        BASE
        + "seed: SEED\n"
        + "timeline:\n"
        + "  - {at: 10s, die: {random: 10, within: {cabinet: x1001}, name: a}}\n"
        + "  - {at: 10s, die: {random: 10%, within: {all: true, except: {ref: a}}, name: b}}\n"
    )

    def picks(seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        scenario = load_scenario_text(text.replace("SEED", str(seed)))
        selection = scenario.selection()
        first, second = (
            selection.resolve(event.nodes)
            for event in scenario.timeline
            if isinstance(event, NodesDie)
        )
        return first, second

    a, b = picks(1)
    assert (a, b) == picks(1)
    assert picks(2) != (a, b)
    assert len(a) == 10
    assert all(name.startswith("x1001c") for name in a)
    assert len(b) == round(0.1 * 502)
    assert not set(a) & set(b)
    assert list(a) == sorted(
        a, key=list(load_scenario_text(text.replace("SEED", "1")).fleet.nodes).index
    )


def test_selector_forms() -> None:
    scenario = load_scenario_text(
        BASE
        + textwrap.dedent(
            """\
            expect:
              - {at: 1m, state: Ready, nodes: x1000c0s0b0n0}
              - {at: 1m, state: Ready, nodes: 'x1000c0s[0-1]b0n[0-1]'}
              - {at: 1m, state: Ready, nodes: 'x1000c0s?b1n*'}
              - {at: 1m, state: Ready, nodes: [x1000, x1001c7s7b1n1]}
              - {at: 1m, state: Ready, nodes: {cabinet: [1000, x1001]}}
              - {at: 1m, state: Ready, nodes: {range: 'x1001c0s0b[0-1]n0', except: x1001c0s0b1n0}}
              - {at: 1m, state: Ready, nodes: all}
            """
        )
    )
    selection = scenario.selection()
    sizes = [len(selection.resolve(e.nodes)) for e in scenario.expectations]
    assert sizes == [1, 4, 16, 257, 512, 1, 512]
    assert scenario.expectations[0].name == "x1000c0s0b0n0 Ready at 1m"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("2h", 7200.0),
        ("2.5", 2.5),
        (" 1h1s ", 3601.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "1:30", "30s1m", "1 m", "-3s", "1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_scenario_builds_its_mock_hsm() -> None:
    scenario = load_scenario_text(
        BASE
        + "seed: 3\n"
        + "hsm: {initial_state: Off, unknown: x1001, latency: 20ms, auto_create: true}\n"
        + "timeline:\n  - {at: 1m, flap: {nodes: x1000c0s0b0n0, period: 30s, count: 2}}\n"
    )
    hsm = scenario.mock_hsm()
    assert len(hsm.components) == 256
    assert {c.state for c in hsm.components.values()} == {"Off"}
    assert hsm.faults == Faults(latency_ms=20.0)
    assert hsm.auto_create
    (flap,) = scenario.timeline
    assert isinstance(flap, NodesFlap)
    assert flap.cycles() == [(60.0, 75.0), (90.0, 105.0)]


def test_cli_node_specs() -> None:
    from hb_sim.cli import _nodes_from_specs

    assert _nodes_from_specs(("300",))[-1] == "x1001c1s2b1n1"
    assert len(_nodes_from_specs(("300", "x3000c0s[1-2]b0n0"))) == 302


def test_documented_example_validates() -> None:
    doc = (REPO / "docs" / "scenarios.md").read_text()
    example = doc.split("## A complete example")[1].split("```yaml\n")[1].split("```")[0]
    scenario = load_scenario_text(example, "docs/scenarios.md")
    assert scenario.name == "single-node-death"
    assert len(scenario.expectations) == 3


EVERY_FIELD = """\
name: every-field
description: Every field and form docs/scenarios.md shows.
seed: 42
duration: 10m
fleet:
  topology: {cabinets: 4, first_cabinet: 1000, chassis: 8, slots: 8, boards: 2, nodes: 2}
  limit: 1000
agents: {interval: 3s, jitter: 300ms, start_spread: 10s, status: OK, route: xname}
tracker:
  warntime: 10s
  errtime: 20s
  interval: 1s
  params: {Sm_timeout: 5s, Sm_retries: 3, Use_telemetry: false, Debug: 1}
hsm:
  initial_state: On
  initial_flag: OK
  unknown: {cabinet: x1003}
  auto_create: true
  power_polling: true
  mode: unready
  latency: 2s
  error_rate: 0.1
  error_status: 503
timeline:
  - {at: 60s, die: x1001, note: power lost}
  - {at: 61s, die: {random: 5, name: victims}}
  - {at: 62s, die: {nodes: all, spread: 5s}}
  - {at: 63s, revive: {ref: victims}}
  - {at: 64s, revive: {nodes: {cabinet: x1001}, spread: 30s}}
  - {at: 65s, flap: {nodes: x1000c0s1b0n0, period: 30s, down: 15s, count: 5}}
  - {at: 66s, partition: {cabinet: x1001, name: cut}}
  - {at: 67s, heal: {ref: cut}}
  - {at: 68s, delay: {nodes: {random: 10}, by: 4s, for: 1m}}
  - {at: 69s, hsm: down}
  - {at: 70s, hsm: up}
  - {at: 71s, hsm: {latency: 2s}}
  - {at: 72s, hsm: {mode: error, error_status: 503}}
  - {at: 73s, hsm: {error_rate: 0.2}}
  - {at: 74s, tracker_restart: {downtime: 15s}}
  - {at: 75s, tracker_restart: true}
  - {at: 76s, params: {Warntime: 20s, Errtime: 40s}}
expect:
  - {at: 1m, nodes: all, state: Ready}
  - {at: 1m, nodes: x1000c0s0b0n0, state: Ready}
  - {at: 1m, nodes: 'x1000c0s[0-3]b0n[0-1]', state: Ready}
  - {at: 1m, nodes: {range: 'x1000c0s[0-3]b0n[0-1]'}, state: Ready}
  - {at: 1m, nodes: 'x1000c0s*b0n0', state: Ready}
  - {at: 1m, nodes: {glob: 'x10*c0s?b1n1'}, state: Ready}
  - {at: 1m, nodes: {cabinet: [x1000, 1002]}, state: Ready}
  - {at: 1m, nodes: {xnames: [x1000c0s0b0n0, x1000c0s0b0n1]}, state: Ready}
  - {at: 1m, nodes: {random: 10%}, state: Ready}
  - {at: 1m, nodes: {random: 3, within: {cabinet: x1002}}, state: Ready}
  - {at: 1m, nodes: [x1000, {ref: victims}], state: Ready}
  - {at: 1m, nodes: {all: true, except: {ref: victims}}, state: Ready}
  - {name: dead, by: 82s, after: 77s, nodes: {cabinet: x1001}, state: Standby, flag: Alert}
  - {at: 3m, nodes: all, heartbeating: false}
invariants:
  no_false_alarms: true
  max_detection_lateness: 2s
  max_patches_per_wave: 6
  wave_gap: 3s
  final_state_matches_truth: true
  no_stale_patches: true
"""


def test_every_documented_field_and_form_validates() -> None:
    scenario = load_scenario_text(EVERY_FIELD)
    assert len(scenario.fleet.nodes) == 1000
    assert scenario.fleet.cabinets == ("x1000", "x1001", "x1002", "x1003")
    assert len(scenario.timeline) == 17
    assert len(scenario.expectations) == 14
    assert scenario.invariants.no_stale_patches
    assert scenario.hsm.power_polling
    assert scenario.hsm.faults == Faults(
        mode="unready", latency_ms=2000.0, error_rate=0.1, error_status=503
    )
    assert len(scenario.mock_hsm().components) == 1000 - 232  # x1003 holds the last 232
    assert scenario.tracker.as_params() == {
        "Warntime": "10",
        "Errtime": "20",
        "Interval": "1",
        "Sm_timeout": "5",
        "Sm_retries": "3",
        "Use_telemetry": "0",
        "Debug": "1",
    }


def test_scenario_objects_check_themselves() -> None:
    from hb_sim.scenario import AgentTiming, AllNodes, Expectation, Invariants, TrackerParams

    with pytest.raises(ValueError, match="warntime < errtime"):
        TrackerParams(warntime=20.0, errtime=10.0)
    with pytest.raises(ValueError, match="jitter"):
        AgentTiming(interval=3.0, jitter=3.0)
    with pytest.raises(ValueError, match="down < period"):
        NodesFlap(at=0.0, line=1, nodes=AllNodes(), period=10.0, count=1, down=10.0)
    with pytest.raises(ValueError, match="exactly one of at and by"):
        Expectation(name="x", line=1, nodes=AllNodes(), state="Ready")
    with pytest.raises(ValueError, match="at least one of state"):
        Expectation(name="x", line=1, nodes=AllNodes(), at=1.0)
    with pytest.raises(ValueError, match="wave_gap"):
        Invariants(wave_gap=0.0)

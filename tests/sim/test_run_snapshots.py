"""The runner's ``on_snapshot`` hook, and what it feeds the live view."""

from __future__ import annotations

from rich.console import Console

from hb_sim import RunOptions, load_scenario, run_scenario
from hb_sim.run import SimSnapshot, to_view_snapshot
from hb_sim.view import LiveView
from tests.sim.shipped import SCENARIO_DIR

SCENARIO = SCENARIO_DIR / "single-node-death.yaml"


def test_snapshots_follow_the_run() -> None:
    seen: list[SimSnapshot] = []
    result = run_scenario(
        load_scenario(SCENARIO),
        RunOptions(on_snapshot=seen.append, snapshot_period=5.0, snapshot_min_wall_gap=0.0),
    )
    assert result.passed
    assert len(seen) == 47 + 1  # every 5 s before the end of the 4 minutes, and once at the end
    assert [s.time for s in seen[:3]] == [5.0, 10.0, 15.0]
    first = seen[0].transitions[0]
    assert (first.before, first.after) == ("On/OK", "Ready/OK")  # HSM's start, then started
    for snapshot in seen:
        assert sum(snapshot.counts.values()) == 64
        assert snapshot.duration == 240.0
    at_75 = next(s for s in seen if s.time == 75.0)
    assert at_75.counts == {"Ready/OK": 63, "Ready/Warning": 1}
    assert at_75.nodes["x1000c0s3b0n1"] == ("Ready", "Warning")
    latest = at_75.transitions[-1]
    assert (latest.xname, latest.before, latest.after) == (
        "x1000c0s3b0n1",
        "Ready/OK",
        "Ready/Warning",
    )
    assert seen[-1].time == 240.0
    assert seen[-1].counts == {"Ready/OK": 64}


def test_snapshots_are_rate_limited_in_wall_time() -> None:
    seen: list[SimSnapshot] = []
    run_scenario(
        load_scenario(SCENARIO),
        RunOptions(on_snapshot=seen.append, snapshot_period=1.0, snapshot_min_wall_gap=3600.0),
    )
    assert [s.time for s in seen] == [1.0, 240.0]  # the first, then only the final one


def test_a_snapshot_renders_in_the_live_view() -> None:
    seen: list[SimSnapshot] = []
    run_scenario(
        load_scenario(SCENARIO),
        RunOptions(on_snapshot=seen.append, snapshot_period=75.0, snapshot_min_wall_gap=0.0),
    )
    console = Console(width=100, height=30, record=True, color_system=None, force_terminal=True)
    with LiveView(console=console) as view:
        view.update(to_view_snapshot(seen[0]), refresh=True)
    text = console.export_text()
    assert "single-node-death" in text
    assert "Ready/Warning" in text
    assert "x1000c0s3b0n1" in text

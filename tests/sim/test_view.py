"""The live view's renderables, rendered to a fixed-size console without colour, as text."""

from __future__ import annotations

import io
import itertools

import pytest
from rich.console import Console, RenderableType

from hb_sim.view import (
    COUNT_ORDER,
    CabinetGrid,
    CellState,
    RecentTransition,
    SnapshotView,
    ViewSnapshot,
    hsm_count_label,
)
from hb_sim.xnames import topology_xnames


def render(renderable: RenderableType, *, width: int, height: int) -> list[str]:
    """The lines a ``width`` x ``height`` terminal without colour would show."""
    console = Console(
        width=width, height=height, color_system=None, file=io.StringIO(), legacy_windows=False
    )
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return [line.rstrip() for line in output.splitlines()]


def fleet(count: int) -> dict[str, CellState]:
    cabinets = -(-count // 256)
    names = itertools.islice(topology_xnames(cabinets=cabinets), count)
    return dict.fromkeys(names, CellState.OK)


def small_snapshot() -> ViewSnapshot:
    nodes = {f"x1000c0s{s}b0n{n}": CellState.OK for s in range(2) for n in range(2)}
    nodes["x1000c0s1b0n0"] = CellState.ALERT
    nodes["x1000c1s0b0n0"] = CellState.WARNING
    nodes["x1000c1s0b0n1"] = CellState.OFF
    return ViewSnapshot(
        title="single-node-death",
        time=75.5,
        duration=300,
        counts={"Ready/OK": 3, "Standby/Alert": 1, "Ready/Warning": 1, "Off": 1},
        transitions=[
            RecentTransition(
                time=40, xname="x1000c0s1b0n0", before="Ready/OK", after="Ready/Warning"
            ),
            RecentTransition(
                time=70, xname="x1000c0s1b0n0", before="Ready/Warning", after="Standby/Alert"
            ),
        ],
        nodes=nodes,
    )


SMALL_FRAME = """\
single-node-death ━━━━━━━━━━━━━━╸                                             0:01:15 / 0:05:00  25%
╭─ Counts ─────────────────╮ ╭─ Recent transitions ────────────────────────────────────────────────╮
│ ■ Ready/OK      3  50.0% │ │ 0:01:10 x1000c0s1b0n0 Ready/Warning → Standby/Alert                 │
│ ▲ Ready/Warning 1  16.7% │ │ 0:00:40 x1000c0s1b0n0 Ready/OK → Ready/Warning                      │
│ X Standby/Alert 1  16.7% │ │                                                                     │
│ · Off           1  16.7% │ │                                                                     │
│                          │ │                                                                     │
│                          │ │                                                                     │
╰──────────────────────────╯ ╰─────────────────────────────────────────────────────────────────────╯
╭─ Cabinets: 6 nodes in 1 cabinet ─────────────────────────────────────────────────────────────────╮
│ x1000c0 ■■ X■  x1000c1 ▲·                                                                        │
│ ■ ok  ▲ warning  X alert  □ on  · off  ? unknown                                                 │
╰────────────────────────────────────────────────────────────────────────────── one cell per node ─╯
"""


def test_small_frame_exactly() -> None:
    assert render(SnapshotView(small_snapshot()), width=100, height=20) == [
        line.rstrip() for line in SMALL_FRAME.splitlines()
    ]


def test_full_screen_frame_fills_the_terminal() -> None:
    lines = render(SnapshotView(small_snapshot(), fill=True), width=100, height=30)
    assert len(lines) == 30
    assert lines[-1].startswith("╰")
    assert lines[-1].endswith("one cell per node ─╯")


def test_narrow_console_stacks_the_panels() -> None:
    lines = render(SnapshotView(small_snapshot()), width=60, height=30)
    assert max(len(line) for line in lines) <= 60
    counts = next(i for i, line in enumerate(lines) if "Counts" in line)
    recent = next(i for i, line in enumerate(lines) if "Recent transitions" in line)
    assert recent > counts + 4  # below the counts, not beside them
    assert any("Ready/Warning → Standby/Alert" in line for line in lines)
    assert any("x1000c0 ■■ X■" in line for line in lines)


def test_open_ended_timeline_and_notice() -> None:
    snapshot = ViewSnapshot(title="watch hbtd:28500", time=3725, notice="tracker unreachable")
    lines = render(SnapshotView(snapshot), width=80, height=24)
    assert lines[0].startswith("watch hbtd:28500")
    assert lines[0].endswith("up 1:02:05")
    assert lines[1] == "tracker unreachable"
    assert any("no transitions yet" in line for line in lines)
    assert any("no nodes" in line for line in lines)


def test_twenty_thousand_nodes_fit_120_by_40() -> None:
    nodes = fleet(20_000)
    sick = ["x1003c2s4b0n1", "x1003c7s0b1n1", "x1077c0s0b0n0"]
    nodes[sick[0]] = CellState.ALERT
    nodes[sick[1]] = CellState.WARNING
    nodes[sick[2]] = CellState.ALERT
    snapshot = ViewSnapshot(
        title="steady-state-20k",
        time=600,
        duration=3600,
        counts={"Ready/OK": 19_997, "Ready/Warning": 1, "Standby/Alert": 2},
        nodes=nodes,
    )
    lines = render(SnapshotView(snapshot, fill=True), width=120, height=40)
    assert len(lines) == 40
    assert max(len(line) for line in lines) <= 120
    screen = "\n".join(lines)
    assert "Cabinets: 20,000 nodes in 79 cabinets" in screen
    assert "one cell per chassis, worst state shown" in screen
    for cabinet in range(1000, 1079):
        assert f"x{cabinet} " in screen
    # A cabinet shows its worst chassis and how many of its nodes need attention.
    assert "x1003 ■■X■■■■▲ 2" in screen
    assert "x1077 X■■■■■■■ 1" in screen
    assert "x1000 ■■■■■■■■  " in screen
    assert "19,997" in screen


@pytest.mark.parametrize(
    ("count", "level"),
    [(8, "one cell per node"), (1_000, "one cell per node"), (5_000, "one cell per slot")],
)
def test_the_finest_level_that_fits_is_chosen(count: int, level: str) -> None:
    lines = render(CabinetGrid(fleet(count), max_height=30), width=120, height=40)
    assert len(lines) <= 30
    assert level in lines[-1]


def test_slot_level_shows_chassis_groups() -> None:
    nodes = fleet(512)
    nodes["x1001c3s5b1n0"] = CellState.ALERT
    lines = render(CabinetGrid(nodes, level="slot"), width=120, height=40)
    inner = [line[2:-1].rstrip() for line in lines[1:3]]
    assert inner[0] == "x1000 " + " ".join(["■" * 8] * 8)
    assert inner[1] == "x1001 " + " ".join(["■" * 8] * 3 + ["■■■■■X■■"] + ["■" * 8] * 4) + " 1"


def test_cabinets_that_do_not_fit_are_counted() -> None:
    nodes = fleet(256 * 60)
    nodes["x1059c0s0b0n0"] = CellState.ALERT
    lines = render(CabinetGrid(nodes, max_height=6), width=40, height=40)
    assert len(lines) == 6
    assert "one cell per cabinet" in lines[-1]
    assert lines[-3].startswith("│ … ")
    assert "more cabinets" in lines[-3]
    screen = "\n".join(lines)
    assert "x1000 ■" in screen


def test_names_that_are_not_xnames_go_to_other() -> None:
    nodes = {"nid000001": CellState.OK, "nid000002": CellState.ALERT, "x1000c0s0b0n0": CellState.ON}
    lines = render(CabinetGrid(nodes), width=80, height=20)
    screen = "\n".join(lines)
    assert "x1000c0 □" in screen
    assert "other:0 ■X" in screen
    assert "2 cabinets" in lines[0]


def test_ascii_console_uses_ascii_glyphs() -> None:
    console = Console(width=60, height=10, color_system=None, file=io.StringIO())
    options = console.options.copy()
    options.encoding = "ascii"
    nodes = {"x1000c0s0b0n0": CellState.OK, "x1000c0s0b0n1": CellState.ALERT}
    lines = console.render_lines(CabinetGrid(nodes), options, pad=False)
    text = "\n".join("".join(segment.text for segment in line) for line in lines)
    assert "x1000c0 #X" in text


def test_counts_keep_their_display_order() -> None:
    snapshot = ViewSnapshot(
        title="t",
        time=0,
        counts={"not heartbeating": 1, "Halt/OK": 2, "Ready/OK": 3, "Empty/OK": 4, "Off": 0},
    )
    assert snapshot.ordered_counts() == [
        ("Ready/OK", 3),
        ("Off", 0),
        ("not heartbeating", 1),
        ("Empty/OK", 4),
        ("Halt/OK", 2),
    ]
    assert COUNT_ORDER[:3] == ("Ready/OK", "Ready/Warning", "Standby/Alert")


@pytest.mark.parametrize(
    ("state", "flag", "cell", "label"),
    [
        ("Ready", "OK", CellState.OK, "Ready/OK"),
        ("ready", None, CellState.OK, "ready/OK"),
        ("Ready", "Warning", CellState.WARNING, "Ready/Warning"),
        ("Standby", "Alert", CellState.ALERT, "Standby/Alert"),
        ("On", "OK", CellState.ON, "On/OK"),
        ("Off", "OK", CellState.OFF, "Off"),
        (None, None, CellState.UNKNOWN, "unknown"),
        ("Halt", "OK", CellState.UNKNOWN, "Halt/OK"),
    ],
)
def test_hsm_states_map_to_cells_and_labels(
    state: str | None, flag: str | None, cell: CellState, label: str
) -> None:
    assert CellState.from_hsm(state, flag) is cell
    assert hsm_count_label(state, flag) == label


@pytest.mark.parametrize(
    "fields",
    [
        {"time": -1.0},
        {"time": float("nan")},
        {"duration": 0.0},
        {"duration": float("inf")},
        {"counts": {"Off": -1}},
    ],
)
def test_a_bad_snapshot_cannot_be_built(fields: dict[str, object]) -> None:
    arguments: dict[str, object] = {"title": "t", "time": 0.0, **fields}
    with pytest.raises(ValueError, match="must"):
        ViewSnapshot(**arguments)  # type: ignore[arg-type]


def test_a_bad_transition_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="xname"):
        RecentTransition(time=1.0, xname="", before="a", after="b")

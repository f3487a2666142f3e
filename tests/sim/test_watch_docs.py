"""docs/watch.md documents every option of ``hb-sim watch``, and its screenshot is real."""

from __future__ import annotations

import io
import itertools
import re

from rich.console import Console

from hb_sim.view import CellState, RecentTransition, SnapshotView, ViewSnapshot
from hb_sim.watch import watch
from hb_sim.xnames import topology_xnames
from tests import REPO

DOC = REPO / "docs" / "watch.md"


def test_every_option_is_documented() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"^\| `(--[a-z-]+)", text, flags=re.MULTILINE))
    options = {opt for param in watch.params for opt in param.opts if opt.startswith("--")}
    assert documented == options


def screenshot_snapshot() -> ViewSnapshot:
    """The frame drawn in the doc: 1,024 nodes, two dead, one late, one chassis off."""
    names = list(itertools.islice(topology_xnames(cabinets=4), 1024))
    nodes = dict.fromkeys(names, CellState.OK)
    for name in names:
        if name.startswith("x1003c7"):
            nodes[name] = CellState.OFF
    nodes["x1001c3s5b1n0"] = nodes["x1001c3s5b1n1"] = CellState.ALERT
    nodes["x1002c0s2b0n0"] = CellState.WARNING
    flips = [
        (251, "x1001c3s5b1n0", "heartbeating", "not heartbeating"),
        (251, "x1001c3s5b1n1", "heartbeating", "not heartbeating"),
        (252, "x1001c3s5b1n0", "Ready/OK", "Ready/Warning"),
        (252, "x1001c3s5b1n1", "Ready/OK", "Ready/Warning"),
        (272, "x1001c3s5b1n0", "Ready/Warning", "Standby/Alert"),
        (272, "x1001c3s5b1n1", "Ready/Warning", "Standby/Alert"),
        (301, "x1002c0s2b0n0", "Ready/OK", "Ready/Warning"),
    ]
    return ViewSnapshot(
        title="watch hbtd:28500 · HSM cray-smd:27779",
        time=305,
        counts={
            "Ready/OK": 989,
            "Ready/Warning": 1,
            "Standby/Alert": 2,
            "Off": 32,
            "heartbeating": 989,
            "not heartbeating": 35,
        },
        transitions=[RecentTransition(time=t, xname=x, before=b, after=a) for t, x, b, a in flips],
        nodes=nodes,
    )


def test_the_screenshot_is_what_the_view_draws() -> None:
    text = DOC.read_text().split("## The view", 1)[1]
    shot = text.split("```\n", 2)[1]
    console = Console(width=100, height=40, color_system=None, file=io.StringIO())
    console.print(SnapshotView(screenshot_snapshot()))
    drawn = [line.rstrip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    shown = [line for line in shot.splitlines() if not line.startswith("│ ...")]
    assert len(shown) > 10
    missing = [line for line in shown if line not in drawn]
    assert missing == []

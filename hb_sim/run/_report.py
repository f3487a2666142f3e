"""What a finished run leaves behind: the verdict table, JUnit XML, JSON and a timeline SVG.

All of it is rendered from a ``RunResult``; nothing here runs anything. The SVG is written by
hand (a few dozen elements) so the report needs no plotting library: counts of nodes per HSM
State/Flag over time as stacked lines, with the timeline's events as dashed markers.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..scenario import Scenario
from ..view import hsm_count_label
from ._record import Verdict
from ._result import RunResult

__all__ = [
    "count_series",
    "junit_document",
    "junit_note",
    "junit_suite",
    "junit_xml",
    "timeline_svg",
    "verdict_table",
    "verdict_text",
    "write_report",
]

#: Colours of the series, by label; others are grey.
COLOURS: Final = {
    "Ready/OK": "#2e7d32",
    "Ready/Warning": "#f9a825",
    "Standby/Alert": "#c62828",
    "On/OK": "#0277bd",
    "Off": "#616161",
}
_OTHER: Final = "#9e9e9e"


def _in_print_order(result: RunResult) -> list[Verdict]:
    # The failed checks first, so a log cut short or a CI summary still shows them.
    return sorted(result.verdicts, key=lambda v: v.passed)


def _title(result: RunResult, outcome: str) -> str:
    scenario = result.scenario
    return f"{scenario.name} ({result.clock} time, seed {scenario.seed}): {outcome}"


def verdict_table(result: RunResult) -> Group:
    """The verdicts, readable at any width down to 80 columns, words never split.

    A title line, then per check a ``pass``/``FAIL`` column and a block: its name, what was
    expected, what was seen and, for a failure, a few examples; failed checks come first.
    When the fleet fell behind, its worst gaps follow. For a terminal; ``verdict_text`` is
    the same without colour, width or wrapping, for logs.
    """
    title = Text.from_markup(escape(_title(result, "")) + _STATUS_MARKUP[result.outcome])
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=4)
    grid.add_column(ratio=1)
    for verdict in _in_print_order(result):
        block = Text()
        block.append(verdict.name, style="bold")
        if verdict.line:
            block.append(f" (line {verdict.line})", style="dim")
        block.append(f"\nexpected: {verdict.expected}\nseen: {verdict.seen}")
        if not verdict.passed:
            for line in verdict.details[1:4]:
                block.append(f"\n  {line}")
        mark = "[green]pass[/]" if verdict.passed else "[bold red]FAIL[/]"
        grid.add_row(Text.from_markup(mark), block)
    parts: list[Text | Table] = [title, grid]
    if result.fleet_gaps:
        gaps = Text("the fleet's own gaps between heartbeats (worst first):", style="yellow")
        for gap in result.fleet_gaps:
            gaps.append(f"\n  {gap.describe()}")
        parts.append(gaps)
    return Group(*parts)


_STATUS_MARKUP: Final = {
    "passed": "[green]passed[/]",
    "failed": "[bold red]FAILED[/]",
    "inconclusive": "[bold yellow]INCONCLUSIVE[/]",
}


def verdict_text(result: RunResult) -> str:
    """The verdicts as plain lines: what ``verdict_table`` shows, for logs and pytest.

    Nothing is padded or wrapped, so each message stays on one line for grep: a title, then
    per check ``FAIL`` or ``pass`` and its name (failed checks first), indented lines with
    what was expected and seen and, for a failure, a few examples; then the fleet's gaps.
    """
    lines = [_title(result, result.outcome.upper() if not result.passed else "passed")]
    for verdict in _in_print_order(result):
        where = f" (line {verdict.line})" if verdict.line else ""
        lines.append(f"{'pass' if verdict.passed else 'FAIL'} {verdict.name}{where}")
        lines.append(f"     expected: {verdict.expected}")
        lines.append(f"     seen: {verdict.seen}")
        if not verdict.passed:
            lines.extend(f"       {line}" for line in verdict.details[1:4])
    if result.fleet_gaps:
        lines.append("the fleet's own gaps between heartbeats (worst first):")
        lines.extend(f"  {gap.describe()}" for gap in result.fleet_gaps)
    return "\n".join(lines)


def junit_xml(*results: RunResult) -> bytes:
    """JUnit XML: one test suite per scenario run, one test case per check.

    A failed check is a ``failure``, or ``skipped`` with the reason when the run is
    inconclusive (the fleet fell behind).
    """
    return junit_document(junit_suite(result) for result in results)


def junit_document(suites: Iterable[ET.Element]) -> bytes:
    """The JUnit file holding ``suites`` (from ``junit_suite`` or ``junit_note``)."""
    root = ET.Element("testsuites")
    root.extend(suites)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def junit_suite(result: RunResult) -> ET.Element:
    """The ``testsuite`` of one run: a test case per check, named and located."""
    inconclusive = ""
    if result.outcome == "inconclusive":
        gaps = "; ".join(g.describe() for g in result.fleet_gaps[:3])
        inconclusive = f"inconclusive: the fleet itself fell behind ({gaps})"
    failures = 0 if inconclusive else result.failed_count
    suite = ET.Element(
        "testsuite",
        {
            "name": f"hb-sim.{result.scenario.name}",
            "tests": str(len(result.verdicts)),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(result.failed_count if inconclusive else 0),
            "time": f"{result.wall_seconds:.3f}",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("clock", result.clock),
        ("seed", str(result.scenario.seed)),
        ("nodes", str(len(result.scenario.fleet.nodes))),
        ("target", result.target),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for verdict in result.verdicts:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"hb-sim.{result.scenario.name}.{verdict.kind}",
                "name": verdict.name,
                "file": result.scenario.path,
                "line": str(verdict.line),
            },
        )
        if not verdict.passed and inconclusive:
            # The fleet fell behind: the failure may be its own, so it proves nothing.
            skipped = ET.SubElement(case, "skipped", {"message": inconclusive})
            skipped.text = f"expected {verdict.expected}; seen {verdict.seen}"
        elif not verdict.passed:
            failure = ET.SubElement(
                case,
                "failure",
                {"message": f"expected {verdict.expected}; seen {verdict.seen}"},
            )
            failure.text = "\n".join(verdict.details)
    return suite


def junit_note(
    scenario: Scenario, kind: Literal["skipped", "error"], message: str, wall_seconds: float = 0.0
) -> ET.Element:
    """The ``testsuite`` of a scenario that was not judged: one case, skipped or in error.

    Args:
        scenario: the scenario.
        kind: ``skipped`` (not meant for this clock) or ``error`` (it could not be played).
        message: why, in one line.
        wall_seconds: time spent before it was given up.
    """
    suite = ET.Element(
        "testsuite",
        {
            "name": f"hb-sim.{scenario.name}",
            "tests": "1",
            "failures": "0",
            "errors": str(int(kind == "error")),
            "skipped": str(int(kind == "skipped")),
            "time": f"{wall_seconds:.3f}",
        },
    )
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": f"hb-sim.{scenario.name}",
            "name": scenario.name,
            "file": scenario.path,
            "line": str(scenario.line),
        },
    )
    ET.SubElement(case, kind, {"message": message})
    return suite


def count_series(result: RunResult, points: int = 240) -> tuple[list[float], dict[str, list[int]]]:
    """Fleet nodes per HSM label at ``points`` + 1 evenly spaced times over the run.

    Returns:
        The times, and for each label its count at each time.
    """
    record = result.record
    end = record.end
    times = [end * i / points for i in range(points + 1)]
    labels = {x: hsm_count_label(*sf) for x, sf in record.hsm_initial.items()}
    counts: Counter[str] = Counter(labels.values())
    series: dict[str, list[int]] = {}
    changes = sorted(record.changes, key=lambda c: (c.time, c.index))
    position = 0
    for step, at in enumerate(times):
        while position < len(changes) and changes[position].time <= at:
            change = changes[position]
            position += 1
            for xname in change.ids:
                before = labels.get(xname)
                if before is None:
                    continue
                flag = "Locked" if before.endswith("/Locked") else (change.flag or "OK")
                after = hsm_count_label(change.state, flag)
                labels[xname] = after
                counts[before] -= 1
                counts[after] += 1
        for label, value in counts.items():
            series.setdefault(label, [0] * len(times))[step] = value
    return times, {label: values for label, values in series.items() if any(values)}


def timeline_svg(result: RunResult, *, width: int = 900, height: int = 360) -> str:
    """The timeline picture: nodes per HSM State/Flag over time, events marked."""
    times, series = count_series(result)
    left, right, top, bottom = 60, 170, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    end = result.record.end or 1.0
    total = max(len(result.record.hsm_initial), 1)

    def x(t: float) -> float:
        return left + plot_w * t / end

    def y(n: float) -> float:
        return top + plot_h * (1 - n / total)

    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "font-family": "sans-serif",
            "font-size": "11",
        },
    )
    ET.SubElement(svg, "rect", {"width": str(width), "height": str(height), "fill": "white"})
    title = ET.SubElement(svg, "text", {"x": str(left), "y": "18", "font-size": "13"})
    title.text = (
        f"{result.scenario.name}: nodes per HSM State/Flag "
        f"({result.clock} time, {'passed' if result.passed else 'FAILED'})"
    )
    axes = f"M{left},{top} V{top + plot_h} H{left + plot_w}"
    ET.SubElement(svg, "path", {"d": axes, "stroke": "black", "fill": "none"})
    for i in range(5):
        t = end * i / 4
        label = ET.SubElement(
            svg, "text", {"x": f"{x(t):.1f}", "y": str(top + plot_h + 15), "text-anchor": "middle"}
        )
        label.text = f"{t:g}s"
        n = total * i / 4
        tick = ET.SubElement(
            svg, "text", {"x": str(left - 5), "y": f"{y(n) + 4:.1f}", "text-anchor": "end"}
        )
        tick.text = f"{n:.0f}"
    for mark in result.marks:
        ET.SubElement(
            svg,
            "line",
            {
                "x1": f"{x(mark.time):.1f}",
                "x2": f"{x(mark.time):.1f}",
                "y1": str(top),
                "y2": str(top + plot_h),
                "stroke": "#555",
                "stroke-dasharray": "4 3",
                "class": "event",
            },
        )
        note = ET.SubElement(
            svg,
            "text",
            {
                "x": f"{x(mark.time) + 3:.1f}",
                "y": str(top + 10),
                "font-size": "9",
                "transform": f"rotate(90 {x(mark.time) + 3:.1f} {top + 10})",
            },
        )
        note.text = mark.label
    for row, (name, values) in enumerate(sorted(series.items())):
        colour = COLOURS.get(name, _OTHER)
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times, values, strict=True))
        ET.SubElement(
            svg,
            "polyline",
            {
                "points": points,
                "fill": "none",
                "stroke": colour,
                "stroke-width": "2",
                "class": "series",
                "data-label": name,
            },
        )
        legend_y = top + 14 * row + 6
        ET.SubElement(
            svg,
            "rect",
            {
                "x": str(left + plot_w + 12),
                "y": str(legend_y - 8),
                "width": "10",
                "height": "10",
                "fill": colour,
            },
        )
        text = ET.SubElement(svg, "text", {"x": str(left + plot_w + 27), "y": str(legend_y + 1)})
        text.text = f"{name} (max {max(values)})"
    return ET.tostring(svg, encoding="unicode")


def write_report(result: RunResult, folder: Path) -> list[Path]:
    """Write ``result.json``, ``junit.xml`` and ``timeline.svg`` into ``folder``.

    Returns:
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        folder / "result.json": json.dumps(result.to_json(), indent=2).encode() + b"\n",
        folder / "junit.xml": junit_xml(result),
        folder / "timeline.svg": timeline_svg(result).encode(),
    }
    for path, data in files.items():
        path.write_bytes(data)
    return list(files)

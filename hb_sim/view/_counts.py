"""The counts panel: how many nodes are in each state, with a swatch and a share of the fleet."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ._model import ASCII_GLYPHS, GLYPHS, STYLES, CellState, ViewSnapshot

__all__ = ["Counts"]


class Counts:
    """A panel with one row per counts label, in ``ViewSnapshot.ordered_counts`` order.

    Args:
        snapshot: the frame to show.
        height: total height of the panel, borders included; None to fit the rows.
    """

    def __init__(self, snapshot: ViewSnapshot, *, height: int | None = None) -> None:
        self.snapshot = snapshot
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._panel(options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self._panel(options))

    def _panel(self, options: ConsoleOptions) -> Panel:
        glyphs = ASCII_GLYPHS if options.ascii_only else GLYPHS
        fleet = len(self.snapshot.nodes)
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(justify="right", no_wrap=True)
        if fleet:
            table.add_column(justify="right", no_wrap=True)
        rows = self.snapshot.ordered_counts()
        for label, count in rows:
            cell = CellState.for_label(label)
            row = [Text(glyphs[cell], style=STYLES[cell]), Text(label), Text(f"{count:,}")]
            if fleet:
                row.append(Text(f"{100 * count / fleet:5.1f}%", style="dim"))
            table.add_row(*row)
        body: Table | Text = table if rows else Text("no nodes yet", style="dim")
        return Panel(body, title="Counts", title_align="left", height=self.height, expand=False)

"""The recent-transitions panel: the newest state changes first, as many as fit."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ._model import STYLES, CellState, ViewSnapshot, format_clock

__all__ = ["Transitions"]


class Transitions:
    """A panel listing ``snapshot.transitions`` newest first: ``0:12:29 x1000c0s1b0n1 a → b``.

    Args:
        snapshot: the frame to show.
        rows: how many transitions to list at most.
        height: total height of the panel, borders included; None to fit the rows.
    """

    def __init__(self, snapshot: ViewSnapshot, *, rows: int, height: int | None = None) -> None:
        self.snapshot = snapshot
        self.rows = max(1, rows)
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        arrow = "->" if options.ascii_only else "→"
        recent = list(reversed(self.snapshot.transitions[-self.rows :]))
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, style="dim")
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        for change in recent:
            after = CellState.for_label(change.after)
            table.add_row(
                format_clock(change.time),
                change.xname,
                Text.assemble(
                    change.before, f" {arrow} ", (change.after, STYLES[after]), overflow="ellipsis"
                ),
            )
        body: Table | Text = table if recent else Text("no transitions yet", style="dim")
        yield Panel(body, title="Recent transitions", title_align="left", height=self.height)

"""The top line of the live view: the title, timeline progress, and a notice if there is one."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ._model import ViewSnapshot, format_clock

__all__ = ["NOTICE_LINES", "Timeline", "notice_lines"]

#: A long notice wraps onto at most this many lines; the rest is cut with an ellipsis.
NOTICE_LINES = 3


def notice_lines(console: Console, notice: str, width: int) -> list[Text]:
    """The lines ``notice`` takes at ``width`` columns, at most ``NOTICE_LINES``."""
    if not notice:
        return []
    lines = list(Text(notice, style="bold yellow").wrap(console, max(1, width)))
    if len(lines) > NOTICE_LINES:
        lines = lines[:NOTICE_LINES]
        last = lines[-1]
        last.truncate(max(1, width - 1))
        last.append("…")
    return lines


class Timeline:
    """``title ━━━━━━╸      0:12:30 / 1:00:00  21%``; open-ended runs show the elapsed time.

    A non-empty ``notice`` follows in bold yellow, on up to ``NOTICE_LINES`` lines.
    """

    def __init__(self, snapshot: ViewSnapshot) -> None:
        self.snapshot = snapshot

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snap = self.snapshot
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True, overflow="ellipsis", max_width=max(8, options.max_width // 2))
        if snap.duration is None:
            grid.add_column(justify="right", no_wrap=True, ratio=1)
            grid.add_row(Text(snap.title, style="bold"), Text(f"up {format_clock(snap.time)}"))
        else:
            shown = min(snap.time, snap.duration)
            percent = int(100 * shown / snap.duration)
            clock = f"{format_clock(shown)} / {format_clock(snap.duration)} {percent:3d}%"
            grid.add_column(ratio=1, min_width=4)
            grid.add_column(justify="right", no_wrap=True)
            bar = ProgressBar(total=snap.duration, completed=shown)
            grid.add_row(Text(snap.title, style="bold"), bar, Text(clock))
        yield grid
        yield from notice_lines(console, snap.notice, options.max_width)

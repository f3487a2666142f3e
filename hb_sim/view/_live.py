"""The live view: a frame of ``ViewSnapshot`` renderables, and a ``Live`` refreshed by trio.

``rich.live.Live`` refreshes from a thread unless ``auto_refresh=False``; here it is always
off and ``run_refresher`` refreshes on trio time, so a ``MockClock`` drives the view in a
virtual-time run just as the real clock does in a live one (STYLE.md section 5).

Layout, top to bottom: the timeline line (and a notice), the counts and recent transitions
side by side (stacked when the console is narrower than ``WIDE``), then the cabinet grid in
whatever height is left.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final, NoReturn, Self

import trio
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table

from ._counts import Counts
from ._grid import CabinetGrid
from ._model import ViewSnapshot
from ._timeline import Timeline, notice_lines
from ._transitions import Transitions

__all__ = ["LiveView", "SnapshotView", "run_refresher"]

#: From this console width on, counts and transitions stand side by side.
WIDE: Final = 90
#: Transitions listed when there is room.
TRANSITION_ROWS: Final = 6
#: The grid keeps at least this many lines (borders, one line of cells, the legend).
GRID_MIN: Final = 4


class SnapshotView:
    """One frame of the live view, sized to the console it renders on.

    Args:
        snapshot: what to show.
        fill: pad the grid so the frame takes the console's full height (full-screen use).
    """

    def __init__(self, snapshot: ViewSnapshot, *, fill: bool = False) -> None:
        self.snapshot = snapshot
        self.fill = fill

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snap = self.snapshot
        height = options.height or options.max_height
        header = 1 + len(notice_lines(console, snap.notice, options.max_width))
        room = max(0, height - header)
        count_rows = max(1, len(snap.counts))
        if options.max_width >= WIDE:
            middle = min(max(count_rows, TRANSITION_ROWS) + 2, max(3, room - GRID_MIN))
            row = Table.grid(expand=True, padding=(0, 1))
            row.add_column(no_wrap=True)
            row.add_column(ratio=1)
            row.add_row(
                Counts(snap, height=middle),
                Transitions(snap, rows=middle - 2, height=middle),
            )
            panels: RenderableType = row
        else:
            counts = min(count_rows + 2, max(3, room - GRID_MIN - 3))
            transitions = min(TRANSITION_ROWS // 2 + 2, max(3, room - GRID_MIN - counts))
            middle = counts + transitions
            panels = Group(
                Counts(snap, height=counts),
                Transitions(snap, rows=transitions - 2, height=transitions),
            )
        grid_height = max(GRID_MIN, room - middle)
        grid = CabinetGrid(
            snap.nodes,
            height=grid_height if self.fill else None,
            max_height=grid_height,
        )
        yield Timeline(snap)
        yield panels
        yield grid


class LiveView:
    """A ``rich.live.Live`` showing ``ViewSnapshot`` frames; it refreshes only when told.

    Use as a context manager; call ``update`` with each new snapshot and ``refresh`` to draw
    (``run_refresher`` does both on trio time).

    Args:
        console: where to draw; rich's default console (stdout) when None.
        screen: use the terminal's alternate screen, full height, like ``top``.
        transient: erase the view when it stops.
    """

    def __init__(
        self, *, console: Console | None = None, screen: bool = False, transient: bool = False
    ) -> None:
        self.screen = screen
        self._snapshot: ViewSnapshot | None = None
        self.live = Live(
            console=console,
            auto_refresh=False,
            screen=screen,
            transient=transient,
            vertical_overflow="crop",
        )

    @property
    def console(self) -> Console:
        """The console the view draws on."""
        return self.live.console

    @property
    def snapshot(self) -> ViewSnapshot | None:
        """The snapshot shown by the next refresh, or None before the first ``update``."""
        return self._snapshot

    def __enter__(self) -> Self:
        self.live.start(refresh=self._snapshot is not None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.live.stop()

    def update(self, snapshot: ViewSnapshot, *, refresh: bool = False) -> None:
        """Show ``snapshot`` from the next refresh on (or at once with ``refresh=True``)."""
        self._snapshot = snapshot
        self.live.update(SnapshotView(snapshot, fill=self.screen), refresh=refresh)

    def refresh(self) -> None:
        """Draw the current snapshot now."""
        self.live.refresh()


async def run_refresher(
    view: LiveView,
    get_snapshot: Callable[[], ViewSnapshot],
    period: float,
    *,
    min_wall_gap: float = 0.0,
    wall_clock: Callable[[], float] = time.monotonic,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Every ``period`` seconds of trio time, take a snapshot and redraw the view.

    The first frame is drawn before ``task_status.started()``. Under a ``MockClock`` that
    jumps, ``min_wall_gap`` keeps a fast virtual run from redrawing thousands of times a
    second: a tick less than that many wall-clock seconds after the last drawn frame is
    skipped, and the latest snapshot is drawn when the task is cancelled instead.

    Args:
        view: the view to update.
        get_snapshot: called once per drawn frame; it must not block.
        period: seconds of trio time between frames; more than 0.
        min_wall_gap: least wall-clock seconds between drawn frames.
        wall_clock: the wall clock for ``min_wall_gap``.
        task_status: started once the first frame is drawn.

    Raises:
        ValueError: ``period`` is not a positive number.
    """
    if not (math.isfinite(period) and period > 0):
        raise ValueError(f"period must be a positive number of seconds, not {period!r}")
    view.update(get_snapshot(), refresh=True)
    last_drawn = wall_clock()
    task_status.started()
    skipped = False
    try:
        while True:
            await trio.sleep(period)
            now = wall_clock()
            if now - last_drawn < min_wall_gap:
                skipped = True
                continue
            view.update(get_snapshot(), refresh=True)
            last_drawn, skipped = now, False
    finally:
        if skipped:
            view.update(get_snapshot(), refresh=True)

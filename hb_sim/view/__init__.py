"""The live view: small rich renderables of a ``ViewSnapshot``, and the ``Live`` that shows them."""

from __future__ import annotations

from hbtd_server.core import export_names as _export_names

from ._counts import Counts
from ._grid import CabinetGrid, GridLevel
from ._live import LiveView, SnapshotView, run_refresher
from ._model import (
    COUNT_ORDER,
    CellState,
    RecentTransition,
    ViewSnapshot,
    format_clock,
    hsm_count_label,
)
from ._timeline import NOTICE_LINES, Timeline, notice_lines
from ._transitions import Transitions

__all__ = [
    "COUNT_ORDER",
    "NOTICE_LINES",
    "CabinetGrid",
    "CellState",
    "Counts",
    "GridLevel",
    "LiveView",
    "RecentTransition",
    "SnapshotView",
    "Timeline",
    "Transitions",
    "ViewSnapshot",
    "format_clock",
    "hsm_count_label",
    "notice_lines",
    "run_refresher",
]

_export_names(globals())

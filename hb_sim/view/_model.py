"""What the live view shows: one frozen ``ViewSnapshot``, built by whoever drives the view.

The scenario runner builds one from its ``on_snapshot`` hook, ``hb-sim watch`` from its polls.
The renderables (``_view_timeline``, ``_view_counts``, ``_view_transitions``, ``_view_grid``)
read nothing else, so a snapshot rendered to a fixed-size console is the whole test of a frame.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "COUNT_ORDER",
    "CellState",
    "RecentTransition",
    "ViewSnapshot",
    "format_clock",
    "hsm_count_label",
]

#: Display order of the counts panel; labels not listed follow, sorted by name.
COUNT_ORDER: Final = (
    "Ready/OK",
    "Ready/Warning",
    "Standby/Alert",
    "On/OK",
    "Off",
    "unknown",
    "heartbeating",
    "not heartbeating",
)


class CellState(enum.Enum):
    """The state of one node in the cabinet grid, worst first in ``SEVERITY``.

    Each state has a glyph and a colour, so the grid reads without colour too.
    """

    OK = "ok"
    WARNING = "warning"
    ALERT = "alert"
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"

    @classmethod
    def from_hsm(cls, state: str | None, flag: str | None = "OK") -> CellState:
        """Map an HSM state and flag to a cell.

        Args:
            state: HSM's ``State`` (``Ready``, ``Standby``, ``On``, ``Off``, ...), matched
                case-insensitively; None when unknown.
            flag: HSM's ``Flag``; None or empty means ``OK``.

        Returns:
            ``Ready/OK`` is OK, ``Ready/Warning`` (or any other flag on Ready) WARNING,
            ``Standby`` ALERT, ``On`` ON, ``Off`` OFF; anything else UNKNOWN.
        """
        key = (state or "").lower()
        if key == "ready":
            return cls.OK if (flag or "OK").lower() == "ok" else cls.WARNING
        return _BY_HSM_STATE.get(key, cls.UNKNOWN)

    @classmethod
    def for_label(cls, label: str) -> CellState:
        """The cell state a counts label stands for (its swatch in the counts panel)."""
        if label in ("heartbeating",):
            return cls.OK
        if label in ("not heartbeating",):
            return cls.ALERT
        state, _, flag = label.partition("/")
        return cls.from_hsm(state, flag or "OK")


_BY_HSM_STATE: Final = {
    "standby": CellState.ALERT,
    "on": CellState.ON,
    "off": CellState.OFF,
}

#: Worst first: a group of nodes shows the worst state among them.
SEVERITY: Final = (
    CellState.ALERT,
    CellState.WARNING,
    CellState.UNKNOWN,
    CellState.ON,
    CellState.OFF,
    CellState.OK,
)
RANK: Final = {state: rank for rank, state in enumerate(SEVERITY)}


def hsm_count_label(state: str | None, flag: str | None = "OK") -> str:
    """The counts label for an HSM state and flag: ``Ready/OK``, ``Off``, ``unknown``.

    Args:
        state: HSM's ``State``; None or ``Unknown`` gives ``unknown``.
        flag: HSM's ``Flag``; None or empty means ``OK``. ``Off`` is shown without its flag.

    Returns:
        The label, as ``COUNT_ORDER`` spells it.
    """
    if not state or state.lower() == "unknown":
        return "unknown"
    if state.lower() == "off":
        return "Off"
    return f"{state}/{flag or 'OK'}"


def format_clock(seconds: float) -> str:
    """Elapsed seconds as ``H:MM:SS`` (whole seconds, rounded down)."""
    whole = max(0, math.floor(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentTransition:
    """One node changing state, as the recent-transitions panel lists it.

    Attributes:
        time: seconds since the start of the run (or of the watch).
        xname: the node.
        before: the label it had (``"Ready/OK"``, ``"heartbeating"``, ...).
        after: the label it has now.
    """

    time: float
    xname: str
    before: str
    after: str

    def __post_init__(self) -> None:
        if not math.isfinite(self.time):
            raise ValueError(f"transition time must be finite, not {self.time!r}")
        if not self.xname:
            raise ValueError("transition needs an xname")


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewSnapshot:
    """Everything one frame of the live view shows. Treat the mappings as read-only.

    Attributes:
        title: the scenario name, or what is being watched.
        time: seconds since the start (virtual or wall time, as the producer runs).
        duration: length of the timeline in seconds; None when open-ended (``watch``).
        counts: label -> number of nodes; shown in ``COUNT_ORDER``, then other labels sorted.
        transitions: recent transitions, oldest first; the view shows the newest at the top.
        nodes: xname -> its cell in the cabinet grid.
        notice: one line shown under the title (an unreachable tracker, a stale view); empty
            for none.
    """

    title: str
    time: float
    duration: float | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    transitions: Sequence[RecentTransition] = ()
    nodes: Mapping[str, CellState] = field(default_factory=dict)
    notice: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.time) or self.time < 0:
            raise ValueError(f"time must be a finite number of seconds >= 0, not {self.time!r}")
        if self.duration is not None and (not math.isfinite(self.duration) or self.duration <= 0):
            raise ValueError(f"duration must be > 0 seconds or None, not {self.duration!r}")
        bad = {label: n for label, n in self.counts.items() if n < 0}
        if bad:
            raise ValueError(f"counts must not be negative: {bad}")

    def ordered_counts(self) -> list[tuple[str, int]]:
        """The counts in display order: ``COUNT_ORDER`` first, then the rest by name."""
        known = [(label, self.counts[label]) for label in COUNT_ORDER if label in self.counts]
        rest = sorted((label, n) for label, n in self.counts.items() if label not in COUNT_ORDER)
        return known + rest


#: Glyph of each cell state, so the grid reads without colour.
GLYPHS: Final = {
    CellState.OK: "■",
    CellState.WARNING: "▲",
    CellState.ALERT: "X",
    CellState.ON: "□",
    CellState.OFF: "·",
    CellState.UNKNOWN: "?",
}
#: The same for consoles that can only write ASCII.
ASCII_GLYPHS: Final = {
    CellState.OK: "#",
    CellState.WARNING: "!",
    CellState.ALERT: "X",
    CellState.ON: "o",
    CellState.OFF: ".",
    CellState.UNKNOWN: "?",
}
STYLES: Final = {
    CellState.OK: "green",
    CellState.WARNING: "yellow",
    CellState.ALERT: "bold red",
    CellState.ON: "cyan",
    CellState.OFF: "bright_black",
    CellState.UNKNOWN: "magenta",
}

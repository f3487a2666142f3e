"""The cabinet grid: every node as a coloured cell, grouped by cabinet and chassis.

Theory of operation: nodes are placed by their xname (``x1000c3s5b1n0`` is cabinet 1000,
chassis 3, slot 5, board 1, node 0) and the grid picks the finest level of detail that fits
the space it is given:

- ``node``: one line per chassis, one cell per node, slots separated by a space;
- ``slot``: one line per cabinet, one cell per slot, chassis separated by a space;
- ``chassis``: one cell per chassis, cabinets side by side;
- ``cabinet``: one cell per cabinet, and if even that does not fit, the cabinets that do
  and a line counting the rest.

An aggregated cell shows the worst state of its nodes (``SEVERITY``); from ``slot`` level on,
each cabinet also shows how many of its nodes are in warning or alert, so one sick node in a
20,000-node fleet stays visible. Names that are not xnames go to a pseudo cabinet ``other``,
32 to a "chassis" and 4 to a "slot". Entries run down the columns, like ``ls``.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.text import Text

from ._model import ASCII_GLYPHS, GLYPHS, RANK, SEVERITY, STYLES, CellState

__all__ = ["CabinetGrid", "GridLevel"]

GridLevel = Literal["node", "slot", "chassis", "cabinet"]
LEVELS: Final[tuple[GridLevel, ...]] = get_args(GridLevel)
_DESCRIPTIONS: Final = {
    "node": "one cell per node",
    "slot": "one cell per slot, worst state shown",
    "chassis": "one cell per chassis, worst state shown",
    "cabinet": "one cell per cabinet, worst state shown",
}
_XNAME: Final = re.compile(r"x([0-9]+)(?:c([0-9]+)(?:s([0-9]+)(?:b([0-9]+)(?:n([0-9]+))?)?)?)?")
_OTHER: Final = 1 << 62  # sorts the pseudo cabinet of non-xnames last
_GAP: Final = "  "
#: Panel borders (2) and padding (2) around the grid's lines.
_FRAME_WIDTH: Final = 4
_ATTENTION: Final = frozenset((CellState.WARNING, CellState.ALERT))

_Place = tuple[int, int, int, int, int]


@functools.lru_cache(maxsize=1 << 16)
def _place(xname: str) -> _Place | None:
    match = _XNAME.fullmatch(xname)
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


#: Ranks (indexes into ``SEVERITY``, worst first) of the states that need attention.
_ATTENTION_RANKS: Final = frozenset(RANK[state] for state in _ATTENTION)
_UNKNOWN_RANK: Final = RANK[CellState.UNKNOWN]
# Keyed by the enum's string value: hashing a str is done in C, hashing an Enum is not.
_RANK_BY_VALUE: Final = {state.value: rank for state, rank in RANK.items()}


@dataclass(slots=True)
class _Chassis:
    label: str
    #: Per slot, the rank (in ``SEVERITY``) of each node's state.
    slots: list[list[int]]

    @property
    def node_width(self) -> int:
        return sum(len(slot) for slot in self.slots) + len(self.slots) - 1

    def worst(self) -> int:
        return min(min(slot) for slot in self.slots)


@dataclass(slots=True)
class _Cabinet:
    label: str
    chassis: list[_Chassis]
    attention: int = 0

    @property
    def slot_width(self) -> int:
        return sum(len(ch.slots) for ch in self.chassis) + len(self.chassis) - 1

    def worst(self) -> int:
        return min(ch.worst() for ch in self.chassis)

    def nodes(self) -> int:
        return sum(len(slot) for ch in self.chassis for slot in ch.slots)


def group_nodes(nodes: Mapping[str, CellState]) -> list[_Cabinet]:
    """Group nodes into cabinets, chassis and slots, each sorted by number."""
    placed: list[tuple[_Place, int]] = []
    others: list[str] = []
    for name, state in nodes.items():
        place = _place(name)
        if place is None:
            others.append(name)
        else:
            placed.append((place, _RANK_BY_VALUE[state.value]))
    placed.sort()
    for index, name in enumerate(sorted(others)):
        place = (_OTHER, index // 32, index % 32 // 4, 0, index % 4)
        placed.append((place, _RANK_BY_VALUE[nodes[name].value]))
    cabinets: list[_Cabinet] = []
    for cab, in_cab in itertools.groupby(placed, key=lambda item: item[0][0]):
        cab_label = "other" if cab == _OTHER else f"x{cab}"
        chassis_list: list[_Chassis] = []
        attention = 0
        for ch, in_ch in itertools.groupby(in_cab, key=lambda item: item[0][1]):
            slots = [
                [rank for _, rank in in_slot]
                for _, in_slot in itertools.groupby(in_ch, key=lambda item: item[0][2])
            ]
            attention += sum(1 for slot in slots for r in slot if r in _ATTENTION_RANKS)
            ch_label = f"other:{ch}" if cab == _OTHER else f"{cab_label}c{ch}"
            chassis_list.append(_Chassis(ch_label, slots))
        cabinets.append(_Cabinet(cab_label, chassis_list, attention))
    return cabinets


class CabinetGrid:
    """A panel drawing ``nodes`` as a cabinet grid at the finest level of detail that fits.

    Args:
        nodes: xname -> cell state.
        height: total height of the panel, borders and legend included: the panel is padded
            to it. None to take only the lines needed.
        max_height: at most this many lines when ``height`` is None; None for as many lines
            as the console has.
        level: force a level of detail (``"node"``, ``"slot"``, ``"chassis"``, ``"cabinet"``)
            instead of choosing; the cabinet-level truncation still applies.
    """

    def __init__(
        self,
        nodes: Mapping[str, CellState],
        *,
        height: int | None = None,
        max_height: int | None = None,
        level: GridLevel | None = None,
    ) -> None:
        if level is not None and level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.nodes = nodes
        self.height = height
        self.max_height = max_height
        self.level = level

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        glyphs = ASCII_GLYPHS if options.ascii_only else GLYPHS
        height = self.height or self.max_height or options.height or options.max_height
        width = max(1, options.max_width - _FRAME_WIDTH)
        # Borders (2) and the legend (1) take three lines.
        room = max(1, height - 3)
        cabinets = group_nodes(self.nodes)
        level, lines = self._layout(cabinets, glyphs, width=width, room=room)
        title = f"Cabinets: {len(self.nodes):,} nodes in {_cabinet_count(cabinets)}"
        subtitle = _DESCRIPTIONS[level] if self.nodes else None
        legend = Text(no_wrap=True, overflow="ellipsis", style="dim")
        for state in CellState:
            legend.append(glyphs[state], style=STYLES[state])
            legend.append(f" {state.value}  ")
        body = lines if self.nodes else [Text("no nodes", style="dim")]
        yield Panel(
            Group(*body, legend),
            title=title,
            title_align="left",
            subtitle=subtitle,
            subtitle_align="right",
            height=self.height,
        )

    def _layout(
        self, cabinets: list[_Cabinet], glyphs: Mapping[CellState, str], *, width: int, room: int
    ) -> tuple[GridLevel, list[Text]]:
        if not cabinets:
            return "node", []
        levels = LEVELS if self.level is None else (self.level,)
        for level in levels:
            count, entry_width = _geometry(level, cabinets)
            if entry_width <= width and _rows(count, entry_width, width) <= room:
                return level, _columns(_entries(level, cabinets, glyphs), width)
        return levels[-1], _truncated(cabinets, glyphs, level=levels[-1], width=width, room=room)


def _cabinet_count(cabinets: Sequence[_Cabinet]) -> str:
    return f"{len(cabinets):,} cabinet" + ("" if len(cabinets) == 1 else "s")


def _attention_width(cabinets: Sequence[_Cabinet]) -> int:
    most = max(cab.attention for cab in cabinets)
    return len(str(most)) + 1 if most else 0


def _geometry(level: GridLevel, cabinets: Sequence[_Cabinet]) -> tuple[int, int]:
    """How many entries a level has and how wide the widest is, without drawing them."""
    if level == "node":
        chassis = [ch for cab in cabinets for ch in cab.chassis]
        label = max(len(ch.label) for ch in chassis)
        return len(chassis), label + 1 + max(ch.node_width for ch in chassis)
    label = max(len(cab.label) for cab in cabinets) + 1
    if level == "slot":
        cells = max(cab.slot_width for cab in cabinets)
    elif level == "chassis":
        cells = max(len(cab.chassis) for cab in cabinets)
    else:
        cells = 1
    return len(cabinets), label + cells + _attention_width(cabinets)


def _rows(count: int, entry_width: int, width: int) -> int:
    columns = max(1, (width + len(_GAP)) // (entry_width + len(_GAP)))
    return math.ceil(count / columns)


class _Line:
    """Builds one entry's Text from runs of equal cells: one span per run, not per cell."""

    def __init__(self, label: str, glyphs: Mapping[CellState, str]) -> None:
        self.text = Text(label + " ", style="bold")
        self.glyphs = [glyphs[state] for state in SEVERITY]
        self.run: list[str] = []
        self.rank = -1

    def cell(self, rank: int) -> None:
        if rank != self.rank:
            self.flush()
            self.rank = rank
        self.run.append(self.glyphs[rank])

    def gap(self) -> None:
        self.flush()
        self.text.append(" ")

    def flush(self) -> None:
        if self.run:
            self.text.append("".join(self.run), style=STYLES[SEVERITY[self.rank]])
            self.run = []
        self.rank = -1


def _entries(
    level: GridLevel, cabinets: Sequence[_Cabinet], glyphs: Mapping[CellState, str]
) -> list[Text]:
    if level == "node":
        chassis = [ch for cab in cabinets for ch in cab.chassis]
        label_width = max(len(ch.label) for ch in chassis)
        entries = []
        for ch in chassis:
            line = _Line(ch.label.ljust(label_width), glyphs)
            for number, slot in enumerate(ch.slots):
                if number:
                    line.gap()
                for rank in slot:
                    line.cell(rank)
            line.flush()
            entries.append(line.text)
        return _pad(entries)
    label_width = max(len(cab.label) for cab in cabinets)
    entries = []
    for cab in cabinets:
        line = _Line(cab.label.ljust(label_width), glyphs)
        if level == "slot":
            for number, ch in enumerate(cab.chassis):
                if number:
                    line.gap()
                for slot in ch.slots:
                    line.cell(min(slot))
        elif level == "chassis":
            for ch in cab.chassis:
                line.cell(ch.worst())
        else:
            line.cell(cab.worst())
        line.flush()
        entries.append(line.text)
    entries = _pad(entries)
    digits = _attention_width(cabinets) - 1
    if digits > 0:
        for text, cab in zip(entries, cabinets, strict=True):
            sick = cab.attention
            text.append(f" {sick:>{digits}}" if sick else " " * (digits + 1), style="bold red")
    return entries


def _pad(entries: list[Text]) -> list[Text]:
    widest = max(text.cell_len for text in entries)
    for text in entries:
        text.pad_right(widest - text.cell_len)
    return entries


def _columns(entries: Sequence[Text], width: int) -> list[Text]:
    """Lay entries out down the columns (entries wider than ``width`` are cropped)."""
    if not entries:
        return []
    rows = _rows(len(entries), entries[0].cell_len, width)
    lines = []
    for row in range(rows):
        line = Text(no_wrap=True, overflow="crop")
        for column, index in enumerate(range(row, len(entries), rows)):
            if column:
                line.append(_GAP)
            line.append_text(entries[index])
        lines.append(line)
    return lines


def _truncated(
    cabinets: Sequence[_Cabinet],
    glyphs: Mapping[CellState, str],
    *,
    level: GridLevel,
    width: int,
    room: int,
) -> list[Text]:
    """As many cabinets as fit above a line that counts the rest."""
    _, entry_width = _geometry(level, cabinets)
    entry_width = min(entry_width, width)
    columns = max(1, (width + len(_GAP)) // (entry_width + len(_GAP)))
    shown = max(0, (room - 1) * columns)
    lines = _columns(_entries(level, cabinets[:shown], glyphs), width) if shown else []
    rest = cabinets[shown:]
    sick = sum(cab.attention for cab in rest)
    nodes = sum(cab.nodes() for cab in rest)
    more = Text(
        f"… {len(rest):,} more cabinets ({nodes:,} nodes, {sick:,} in warning or alert)",
        style="bold red" if sick else "dim",
        no_wrap=True,
        overflow="ellipsis",
    )
    return [*lines, more]

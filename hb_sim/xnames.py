"""Fleets of node xnames: range patterns, cabinet topologies, and HSM's default NID.

A *range pattern* is an xname with bracketed number lists, expanded as a cartesian product
from left to right, so ``x1000c[0-1]s0b0n[0-1]`` is ``x1000c0s0b0n0, x1000c0s0b0n1,
x1000c1s0b0n0, x1000c1s0b0n1``. A list holds numbers and inclusive ranges separated by commas:
``[0-3,8,10-11]``. A pattern without brackets is a single name. Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Final

from hbtd_server.core import is_node

__all__ = [
    "MAX_EXPANSION",
    "bogus_nid",
    "cabinet_of",
    "expand_range",
    "topology_xnames",
]

#: A pattern that expands to more names than this is refused: it is surely a typo.
MAX_EXPANSION: Final = 1_000_000

_GROUP = re.compile(r"\[([^\[\]]*)\]")
_ITEM = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?")
_NODE_PARTS = re.compile(r"x([0-9]+)c([0-9]+)s([0-9]+)b([0-9]+)n([0-9]+)")
_CABINET = re.compile(r"(x[0-9]+)")


def _numbers(body: str, pattern: str) -> list[int]:
    numbers: list[int] = []
    for item in body.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(
                f"bad number list [{body}] in {pattern!r}: expected numbers and ranges such "
                "as [0-7] or [0,2,4-6]"
            )
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise ValueError(f"bad range {item.strip()} in {pattern!r}: the end is below the start")
        if high - low >= MAX_EXPANSION:
            raise ValueError(f"range {item.strip()} in {pattern!r} is too large")
        numbers.extend(range(low, high + 1))
    return numbers


def expand_range(pattern: str) -> list[str]:
    """Expand a range pattern into names, in order.

    Args:
        pattern: e.g. ``"x1000c[0-7]s[0-7]b[0-1]n[0-1]"``; no brackets means one name.

    Returns:
        The names, left-most group varying slowest. Duplicates (from overlapping lists) are
        kept; callers that need a set deduplicate.

    Raises:
        ValueError: a bracket is unbalanced or holds something other than numbers and ranges,
            or the expansion exceeds ``MAX_EXPANSION`` names.
    """
    literals: list[str] = []
    groups: list[list[int]] = []
    pos = 0
    for match in _GROUP.finditer(pattern):
        literals.append(pattern[pos : match.start()])
        groups.append(_numbers(match.group(1), pattern))
        pos = match.end()
    tail = pattern[pos:]
    if "[" in tail or "]" in tail or any("[" in lit or "]" in lit for lit in literals):
        raise ValueError(f"unbalanced bracket in {pattern!r}")
    total = 1
    for group in groups:
        total *= len(group)
    if total > MAX_EXPANSION:
        raise ValueError(f"{pattern!r} expands to {total} names, more than {MAX_EXPANSION}")
    names: list[str] = []
    for combo in itertools.product(*groups):
        parts = [lit + str(num) for lit, num in zip(literals, combo, strict=True)]
        names.append("".join(parts) + tail)
    return names


def topology_xnames(
    *,
    cabinets: int,
    first_cabinet: int = 1000,
    chassis: int = 8,
    slots: int = 8,
    boards: int = 2,
    nodes: int = 2,
) -> Iterator[str]:
    """Yield the node xnames of a regular HPE Cray EX layout, cabinet by cabinet.

    The defaults describe a liquid-cooled EX cabinet: 8 chassis, 8 slots per chassis, 2 node
    boards (BMCs) per slot and 2 nodes per board, i.e. 256 nodes per cabinet.

    Args:
        cabinets: number of cabinets.
        first_cabinet: number of the first cabinet (``x1000``); the rest follow consecutively.
        chassis: chassis per cabinet (at most 8, as xnames allow c0-c7).
        slots: slots per chassis.
        boards: node boards (BMCs) per slot.
        nodes: nodes per board.

    Yields:
        Names such as ``x1000c0s0b0n0``.
    """
    for cab, ch, slot, board, node in itertools.product(
        range(first_cabinet, first_cabinet + cabinets),
        range(chassis),
        range(slots),
        range(boards),
        range(nodes),
    ):
        yield f"x{cab}c{ch}s{slot}b{board}n{node}"


def bogus_nid(xname: str) -> int | None:
    """Return the NID HSM invents for a node it knows nothing else about.

    ``((cabinet + 1) * 16384) + chassis * 2048 + slot * 32 + bmc * 4 + node``, as in
    hms-smd ``cmd/smd/components.go``.

    Args:
        xname: a normalized Node xname.

    Returns:
        The NID, or None when ``xname`` is not a Node.
    """
    if not is_node(xname):
        return None
    match = _NODE_PARTS.fullmatch(xname)
    assert match is not None  # is_node guarantees the shape
    cab, ch, slot, bmc, node = (int(part) for part in match.groups())
    return (cab + 1) * 16384 + ch * 2048 + slot * 32 + bmc * 4 + node


def cabinet_of(xname: str) -> str | None:
    """Return the cabinet (``x1000``) a normalized xname lives in, or None for non-x names."""
    match = _CABINET.match(xname)
    return match.group(1) if match else None

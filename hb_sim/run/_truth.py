"""The truth: what each node's HSM State/Flag should be, from the heartbeats that got through.

Theory of operation: a node's truth is what its heartbeats imply (docs/scenarios.md,
"invariants"). Before its first heartbeat it is whatever HSM started with; a heartbeat that
reaches the tracker's address makes it Ready/OK (*started* the first time or after
Standby/Alert, *restarted* after Ready/Warning); silence for Warntime makes it Ready/Warning,
for Errtime Standby/Alert, with the Warntime and Errtime in force at the time. A tracker that
is down does not count as silence: the heartbeats still reach its address.

A tie is decided one way (#14): a heartbeat that arrives exactly at last beat + Warntime (or
+ Errtime) comes *after* the deadline, as in hbtd, whose deadlines fire when ``now >=
deadline``. The node is warned (or declared dead) and then restarted (or started) at that
same instant. The comparison is written as hbtd's, ``last + limit <= now``, so that the two
agree to the last bit of a float; the virtual fleet lets the tracker's deadlines fire before
it delivers the heartbeats of the same instant.

The fleet calls ``delivered`` for every heartbeat that gets through, with the arrival time.
That is the hot path of a 12-million-heartbeat run, so it only stores the time; the truth's
transitions are worked out when a node is heard again after a gap of at least the smallest
Warntime (``gap``), and at the end for nodes still silent (``close``). Sans-IO: times are
passed in.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["NEVER", "ParamEpoch", "Truth", "TruthChange"]

#: ``last`` of a node never heard from.
NEVER: Final = -math.inf


@dataclass(frozen=True, slots=True)
class ParamEpoch:
    """Warntime and Errtime in force from ``start`` on (until the next epoch)."""

    start: float
    warntime: float
    errtime: float


@dataclass(frozen=True, slots=True)
class TruthChange:
    """One transition of a node's truth.

    Attributes:
        time: when it became true (the heartbeat's arrival, or last heartbeat + Warntime or
            Errtime in force).
        state: the HSM State it implies.
        flag: the HSM Flag it implies.
        cause: ``initial``, ``started``, ``restarted``, ``warning`` or ``dead`` (HBTD's four
            transition kinds).
    """

    time: float
    state: str
    flag: str
    cause: str


class Truth:
    """The truth of every node of a fleet.

    Args:
        nodes: the fleet, in order; nodes are referred to by index.
        initial: the (State, Flag) HSM starts every node with.
        epochs: Warntime/Errtime in force, by start time; the first starts at 0 or before.
    """

    def __init__(
        self, nodes: Sequence[str], initial: tuple[str, str], epochs: Sequence[ParamEpoch]
    ) -> None:
        if not epochs:
            raise ValueError("need at least one parameter epoch")
        self.nodes = tuple(nodes)
        self.index = {name: i for i, name in enumerate(self.nodes)}
        self.epochs = tuple(sorted(epochs, key=lambda e: e.start))
        #: Gaps shorter than this can hold no transition: the fleet's cheap test. A hair under
        #: the smallest Warntime, so a tie (``prev + warntime == now`` but ``now - prev`` a
        #: rounding below it) still reaches the exact test in ``_silence``.
        self.min_warntime = min(e.warntime for e in self.epochs) - 1e-9
        #: Arrival of each node's last delivered heartbeat (``NEVER`` before the first).
        self.last: list[float] = [NEVER] * len(self.nodes)
        self._initial = TruthChange(0.0, initial[0], initial[1], "initial")
        self._changes: dict[int, list[TruthChange]] = {}
        self._closed = False

    # -- recording (the fleet) ------------------------------------------------------------

    def delivered(self, node: int, now: float) -> None:
        """A heartbeat of ``node`` reached the tracker's address at ``now``."""
        prev = self.last[node]
        self.last[node] = now
        if now - prev >= self.min_warntime:
            self.gap(node, prev, now)

    def gap(self, node: int, prev: float, now: float) -> None:
        """``node`` was silent from ``prev`` (its last heartbeat) until ``now`` (a new one)."""
        if prev == NEVER:
            self._add(node, TruthChange(now, "Ready", "OK", "started"))
            return
        cause = self._silence(node, prev, now)
        back = "restarted" if cause == "warning" else "started"
        if cause is not None:
            self._add(node, TruthChange(now, "Ready", "OK", back))

    def shutdown(self, node: int, now: float) -> None:
        """``node`` announced a clean shutdown at ``now``: the tracker forgets it.

        What its silence implied up to ``now`` stands; from then on it implies nothing, and
        its next heartbeat is a *started* one, as for a node never heard from.
        """
        prev = self.last[node]
        if prev != NEVER:
            self._silence(node, prev, now)
        self.last[node] = NEVER

    def close(self, end: float) -> None:
        """Finish at ``end``: nodes silent since their last heartbeat get their transitions."""
        if self._closed:
            return
        self._closed = True
        for node, prev in enumerate(self.last):
            if prev != NEVER and end - prev >= self.min_warntime:
                self._silence(node, prev, end)

    def _silence(self, node: int, prev: float, until: float) -> str | None:
        """Record what silence from ``prev`` implies up to and including ``until``."""
        warned = self._crossing(prev, prev, warn=True)
        if not warned <= until:
            return None
        self._add(node, TruthChange(warned, "Ready", "Warning", "warning"))
        dead = self._crossing(prev, warned, warn=False)
        if dead <= until:
            self._add(node, TruthChange(dead, "Standby", "Alert", "dead"))
            return "dead"
        return "warning"

    def _crossing(self, last: float, start: float, *, warn: bool) -> float:
        """The earliest time >= ``start`` at which silence since ``last`` reaches the limit."""
        epochs = self.epochs
        for k, epoch in enumerate(epochs):
            end = epochs[k + 1].start if k + 1 < len(epochs) else math.inf
            if end <= start:
                continue
            limit = epoch.warntime if warn else epoch.errtime
            candidate = max(epoch.start, start, last + limit)
            if candidate < end:
                return candidate
        return math.inf

    def _add(self, node: int, change: TruthChange) -> None:
        self._changes.setdefault(node, []).append(change)

    # -- reading (the checks) -------------------------------------------------------------

    def history(self, xname: str) -> list[TruthChange]:
        """Every truth of ``xname`` in time order, starting with HSM's initial state."""
        return [self._initial, *self._changes.get(self.index[xname], ())]

    def at(self, xname: str, time: float) -> TruthChange:
        """The truth of ``xname`` in force at ``time`` (a change at ``time`` counts)."""
        changes = self.history(xname)
        times = [c.time for c in changes]
        return changes[max(0, bisect.bisect_right(times, time) - 1)]

    def changed_nodes(self) -> list[str]:
        """Nodes whose truth ever left the initial state, in fleet order."""
        return [self.nodes[i] for i in sorted(self._changes)]

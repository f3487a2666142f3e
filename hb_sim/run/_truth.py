"""The truth: what each node's HSM State/Flag should be, from the heartbeats that got through.

Theory of operation: a node's truth is what its heartbeats imply (docs/scenarios.md,
"invariants"). Before its first heartbeat it is whatever HSM started with; a heartbeat that
reaches the tracker's address makes it Ready/OK (*started* the first time or after
Standby/Alert, *restarted* after Ready/Warning); silence for Warntime makes it Ready/Warning,
for Errtime Standby/Alert, with the Warntime and Errtime in force at the time. A tracker that
is down does not count as silence: the heartbeats still reach its address.

A tie is decided one way: a heartbeat that arrives exactly at last beat + Warntime (or
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

A Shutdown heartbeat follows the tracker's rule (docs/states.md): a live node is forgotten
(nothing is implied until its next heartbeat, a *started* one), but from a node in warning it
is an ordinary heartbeat (*restarted*), so one request cannot silence a death.

HSM is not the tracker's alone. Other writers (power events, operators, a restore from a
backup) are told to the truth (``written``), and at ``close`` each touched node's history
becomes what HSM must *show*, under HSM's start-state table and the tracker's documented
rules: an edge (started, restarted, warning, dead) is due at once and applied only from the
states HSM's table allows; after another writer's change, the tracker asserts again only what
it owns, within the reconcile interval (a *level*: ``within``): a heartbeating node Ready/OK,
a node in warning Ready/Warning while HSM has it Ready, a dead node Standby/Alert while HSM
has it Ready. Off, On, Halt and skipped states are left alone, and so is a node the tracker
does not track (never heard from, or forgotten after a Shutdown). ``told`` adds the edges HSM
skipped (the tracker may send them; they show nothing), so a tracker that keeps sending a
state HSM must not be told is caught.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..hsm import START_STATES, allowed_start_states
from ..scenario import DEFAULT_RECONCILE

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
            transition kinds, due at once); ``written`` (another writer changed HSM: it shows
            at once); ``level`` (the tracker must assert it again within ``within``);
            ``kept`` (in ``told`` only: what HSM keeps after skipping an edge).
        within: how long after ``time`` (beyond the detection lateness) HSM may show it: the
            reconcile interval for a level, 0 otherwise.
    """

    time: float
    state: str
    flag: str
    cause: str
    within: float = 0.0


@dataclass(frozen=True, slots=True)
class _Write:
    time: float
    state: str
    flag: str
    force: bool
    exact: bool  # a restore: the values come back as they were, no table


class Truth:
    """The truth of every node of a fleet.

    Args:
        nodes: the fleet, in order; nodes are referred to by index.
        initial: the (State, Flag) HSM starts every node with.
        epochs: Warntime/Errtime in force, by start time; the first starts at 0 or before.
        reconcile: the tracker's reconcile interval in seconds (0: it does not reconcile).
    """

    def __init__(
        self,
        nodes: Sequence[str],
        initial: tuple[str, str],
        epochs: Sequence[ParamEpoch],
        *,
        reconcile: float = DEFAULT_RECONCILE,
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
        self.reconcile = reconcile
        self._changes: dict[int, list[TruthChange]] = {}
        self._forgotten: dict[int, list[float]] = {}
        self._writes: dict[int, list[_Write]] = {}
        # Built at ``close`` for nodes another writer touched: what HSM must show, and what
        # the tracker may tell it.
        self._shown: dict[int, list[TruthChange]] = {}
        self._told: dict[int, list[TruthChange]] = {}
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
        """``node`` announced a clean shutdown at ``now``.

        What its silence implied up to ``now`` stands. A node in warning then is *restarted*
        (the Shutdown counts as a heartbeat, and its silence goes on from ``now``); a live
        node is forgotten: it implies nothing more, and its next heartbeat is a *started*
        one, as for a node never heard from. A dead node was dropped already.
        """
        prev = self.last[node]
        if prev == NEVER:
            return
        if self._silence(node, prev, now) == "warning":
            self._add(node, TruthChange(now, "Ready", "OK", "restarted"))
            self.last[node] = now
            return
        self._forgotten.setdefault(node, []).append(now)
        self.last[node] = NEVER

    def written(self, node: int, now: float, state: str, flag: str, *, force: bool = False) -> None:
        """Another writer sent HSM a StateData change for ``node`` at ``now``.

        Args:
            node: the node's index.
            now: when HSM got it.
            state: the canonical State.
            flag: the canonical Flag.
            force: HSM's ``Force`` (the start-state table is lifted, as HSM does).
        """
        self._writes.setdefault(node, []).append(_Write(now, state, flag, force, False))

    def restored(self, node: int, now: float, state: str, flag: str) -> None:
        """HSM was restored from an older copy at ``now``: ``node`` has ``state``/``flag`` again."""
        self._writes.setdefault(node, []).append(_Write(now, state, flag, True, True))

    def close(self, end: float) -> None:
        """Finish at ``end``: nodes silent since their last heartbeat get their transitions."""
        if self._closed:
            return
        self._closed = True
        for node, prev in enumerate(self.last):
            if prev != NEVER and end - prev >= self.min_warntime:
                self._silence(node, prev, end)
        for node in self._writes:
            self._shown[node], self._told[node] = self._replay(node)

    def _replay(self, node: int) -> tuple[list[TruthChange], list[TruthChange]]:
        """What HSM must show of ``node``, and what it may be told, with other writers."""
        marks: list[tuple[float, int, TruthChange | _Write | None]] = [
            (c.time, 0, c) for c in self._changes.get(node, ())
        ]
        marks += [(t, 1, None) for t in self._forgotten.get(node, ())]
        marks += [(w.time, 2, w) for w in self._writes[node]]
        marks.sort(key=lambda m: (m[0], m[1]))
        hsm = (self._initial.state, self._initial.flag)
        beat: tuple[str, str] | None = None  # None: the tracker does not track the node
        shown, told = [self._initial], [self._initial]

        def show(change: TruthChange) -> None:
            shown.append(change)
            told.append(change)

        for time, _, mark in marks:
            if isinstance(mark, TruthChange):
                beat = (mark.state, mark.flag)
                if _allowed(hsm, beat, force=False):
                    if hsm != beat:
                        hsm = beat
                        show(mark)
                else:  # HSM skips it: the tracker may send it, HSM keeps what it has
                    told += [mark, TruthChange(time, hsm[0], hsm[1], "kept")]
            elif isinstance(mark, _Write):
                value = (mark.state, mark.flag)
                if mark.exact or _allowed(hsm, value, force=mark.force):
                    if hsm[1] == "Locked" and not mark.exact:
                        value = (value[0], "Locked")
                    if value != hsm:
                        hsm = value
                        show(TruthChange(time, value[0], value[1], "written"))
            else:
                beat = None
            level = _level(beat, hsm) if self.reconcile > 0 else None
            if level is not None:
                hsm = level
                show(TruthChange(time, level[0], level[1], "level", self.reconcile))
        return shown, told

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
        """What HSM must show of ``xname``, in time order, from HSM's initial state.

        Without other writers this is the heartbeat truth (``beats``).
        """
        node = self.index[xname]
        shown = self._shown.get(node)
        return list(shown) if shown is not None else self.beats(xname)

    def beats(self, xname: str) -> list[TruthChange]:
        """What the heartbeats alone imply for ``xname``, from HSM's initial state."""
        return [self._initial, *self._changes.get(self.index[xname], ())]

    def told(self, xname: str) -> list[TruthChange]:
        """``history`` plus the edges HSM skips: what the tracker may tell HSM, in order.

        A skipped edge is followed, at the same instant, by the value HSM keeps (``kept``),
        so it may be sent when due and not again later.
        """
        node = self.index[xname]
        told = self._told.get(node)
        return list(told) if told is not None else self.beats(xname)

    def at(self, xname: str, time: float) -> TruthChange:
        """The truth of ``xname`` in force at ``time`` (a change at ``time`` counts)."""
        changes = self.history(xname)
        times = [c.time for c in changes]
        return changes[max(0, bisect.bisect_right(times, time) - 1)]

    def changed_nodes(self) -> list[str]:
        """Nodes whose truth ever left the initial state, in fleet order."""
        return [self.nodes[i] for i in sorted(self._changes.keys() | self._writes.keys())]


def _allowed(hsm: tuple[str, str], value: tuple[str, str], *, force: bool) -> bool:
    """Whether HSM's table applies ``value`` to a component showing ``hsm``."""
    starts = allowed_start_states(value[0], value[1], force=force)
    return starts is None or hsm[0] in starts


def _level(beat: tuple[str, str] | None, hsm: tuple[str, str]) -> tuple[str, str] | None:
    """What the tracker's reconciliation asserts for a node whose heartbeats imply ``beat``
    while HSM shows ``hsm``, or None when it leaves HSM alone."""
    if beat is None or beat == hsm or hsm[1] == "Locked":
        return None
    if beat == ("Ready", "OK"):
        return beat if hsm[0] in START_STATES["Ready"] else None
    return beat if hsm[0] == "Ready" else None

"""The heartbeat tracker: a sans-IO, deadline-driven state machine over many components.

Nothing here reads a clock or does I/O: callers pass ``now`` (seconds on any monotonic scale)
and get back :class:`Transition` events. Deadlines live in a heap with at most a few entries per
component. A heartbeat only updates its record (O(1), no heap work), so the hot path stays
cheap; when a heap entry comes due, the record is checked, and the entry is either fired or
pushed again at the record's real deadline. Cost therefore follows transitions and Warntime
periods, never "every record every Interval", and a warning fires at Warntime, not up to one
Interval later.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ._states import TRANSITIONS, HbState, Kind, Trigger

__all__ = ["SHUTDOWN_STATUS", "ComponentView", "Tracker", "Transition"]

#: A heartbeat with this Status says "I am going away": a live component is forgotten quietly.
#: From a component in warning it is an ordinary heartbeat: a real agent announces its
#: shutdown while it still beats, so one request for a node already silent must not silence
#: its death for good.
SHUTDOWN_STATUS = "Shutdown"


@dataclass(frozen=True, slots=True)
class Transition:
    """A reported change of one component.

    Attributes:
        xname: the normalized component name.
        kind: which of the four changes happened.
        at: when it was detected (the ``now`` of the call that produced it).
        due: when it was due: the heartbeat time for started/restarted, last heartbeat plus
            Warntime or Errtime for warning/dead. ``at - due`` is the detection lateness.
        sender_timestamp: the TimeStamp of the component's last heartbeat, as sent.
        status: the Status of the component's last heartbeat.
    """

    xname: str
    kind: Kind
    at: float
    due: float
    sender_timestamp: str
    status: str

    def __post_init__(self) -> None:
        if self.at < self.due:
            raise ValueError(f"transition of {self.xname} detected before it was due")


@dataclass(frozen=True, slots=True)
class ComponentView:
    """A read-only snapshot of one tracked component."""

    xname: str
    state: HbState
    last_heartbeat: float
    sender_timestamp: str
    status: str


class _Record:
    # Slots keep a tracked component at a couple of hundred bytes (the target is < 1 KiB).
    __slots__ = ("armed", "last", "state", "status", "timestamp")

    def __init__(self, last: float, timestamp: str, status: str) -> None:
        self.last = last
        self.timestamp = timestamp
        self.status = status
        self.state = HbState.ALIVE
        # Deadline of this record's one valid heap entry; other entries for it are stale.
        self.armed = 0.0


class Tracker:
    """Tracks components by heartbeat and reports their transitions.

    Args:
        warntime: seconds of silence after which a component "might be dead".
        errtime: seconds of silence after which it is "declared dead"; must exceed warntime.
    """

    def __init__(self, *, warntime: float, errtime: float) -> None:
        _check_times(warntime, errtime)
        self._warntime = warntime
        self._errtime = errtime
        self._records: dict[str, _Record] = {}
        self._heap: list[tuple[float, str]] = []
        self._warning_count = 0  # kept up to date so the silence guard can ask in O(1)

    # -- parameters -----------------------------------------------------------------------

    @property
    def warntime(self) -> float:
        """Seconds of silence before a warning."""
        return self._warntime

    @property
    def errtime(self) -> float:
        """Seconds of silence before a component is declared dead."""
        return self._errtime

    def set_times(self, *, warntime: float, errtime: float) -> None:
        """Change Warntime and Errtime; they apply at once to every tracked component.

        Raises:
            ValueError: unless 0 < warntime < errtime.
        """
        _check_times(warntime, errtime)
        if (warntime, errtime) == (self._warntime, self._errtime):
            return
        self._warntime, self._errtime = warntime, errtime
        # Rare (an operator's PATCH), so an O(n) re-arm is fine and keeps the heap exact.
        self._heap = []
        for xname, record in self._records.items():
            record.armed = self._deadline(record)
            self._heap.append((record.armed, xname))
        heapq.heapify(self._heap)

    # -- events in ------------------------------------------------------------------------

    def heartbeat(
        self, xname: str, now: float, *, timestamp: str, status: str
    ) -> Transition | None:
        """Record a heartbeat.

        Args:
            xname: the normalized component name.
            now: when it was received.
            timestamp: the sender's TimeStamp, kept for telemetry.
            status: the sender's Status. ``SHUTDOWN_STATUS`` forgets a live component; from
                one in warning it counts as a heartbeat (a restart).

        Returns:
            A *started* or *restarted* transition, or None when the component was alive.
        """
        record = self._records.get(xname)
        if status == SHUTDOWN_STATUS and (record is None or record.state is HbState.ALIVE):
            if record is not None:
                self._drop(xname, record)  # its heap entries go stale and are skipped
            return None
        if record is None:
            record = _Record(now, timestamp, status)
            self._records[xname] = record
            self._arm(xname, record)
            return Transition(xname, Kind.STARTED, now, now, timestamp, status)
        if now > record.last:  # a late-delivered, older heartbeat must not move time back
            record.last = now
        record.timestamp = timestamp
        record.status = status
        if record.state is HbState.ALIVE:
            return None
        new_state, kind = TRANSITIONS[(record.state, Trigger.HEARTBEAT)]
        record.state = new_state
        self._warning_count -= 1
        # The pending entry is at last+Errtime; the next warning may be due sooner.
        self._arm(xname, record)
        assert kind is not None
        return Transition(xname, kind, now, now, timestamp, status)

    def advance(self, now: float) -> list[Transition]:
        """Fire every deadline at or before ``now``.

        A component silent for exactly Warntime (or Errtime) is due: the checks are ``>=``.

        Returns:
            The warnings and deaths. Each component's come in order; across components the
            order is roughly by deadline (an entry re-armed late may come after a later one).
        """
        fired: list[Transition] = []
        heap = self._heap
        records = self._records
        while heap and heap[0][0] <= now:
            deadline, xname = heapq.heappop(heap)
            record = records.get(xname)
            if record is None or record.armed != deadline:
                continue  # stale: forgotten, died, or re-armed elsewhere
            due = self._deadline(record)
            if due > now:  # heard from since this entry was pushed
                record.armed = due
                heapq.heappush(heap, (due, xname))
                continue
            trigger = (
                Trigger.WARNTIME_PASSED if record.state is HbState.ALIVE else Trigger.ERRTIME_PASSED
            )
            new_state, kind = TRANSITIONS[(record.state, trigger)]
            assert kind is not None
            fired.append(Transition(xname, kind, now, due, record.timestamp, record.status))
            if new_state is HbState.DEAD:
                self._drop(xname, record)
            else:
                record.state = new_state
                self._warning_count += 1
                self._arm(xname, record)
                # With a lowered Errtime the death may be due at once: the loop sees it next.
        return fired

    def forget(self, xname: str) -> bool:
        """Stop tracking ``xname`` without reporting anything. Returns whether it was tracked."""
        record = self._records.get(xname)
        if record is None:
            return False
        self._drop(xname, record)
        return True

    # -- queries --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`advance` may have work, or None if never."""
        return self._heap[0][0] if self._heap else None

    def is_heartbeating(self, xname: str, now: float) -> bool:
        """Upstream's ``Heartbeating``: tracked and heard from less than Errtime ago."""
        record = self._records.get(xname)
        return record is not None and now - record.last < self._errtime

    def view(self, xname: str) -> ComponentView | None:
        """A snapshot of one component, or None if it is not tracked."""
        record = self._records.get(xname)
        if record is None:
            return None
        return ComponentView(xname, record.state, record.last, record.timestamp, record.status)

    def views(self) -> Iterator[ComponentView]:
        """Snapshots of every tracked component, in no particular order."""
        for xname, record in self._records.items():
            yield ComponentView(xname, record.state, record.last, record.timestamp, record.status)

    def counts(self) -> dict[HbState, int]:
        """How many tracked components are in each state."""
        warning = self._warning_count
        return {HbState.ALIVE: len(self._records) - warning, HbState.WARNING: warning}

    @property
    def warning_count(self) -> int:
        """How many tracked components are in warning, in O(1)."""
        return self._warning_count

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, xname: object) -> bool:
        return xname in self._records

    def restore(self, components: Iterable[ComponentView], now: float) -> None:
        """Load components (for example from a persistent store) with a grace period.

        Deadlines restart from ``now``: a component is warned only if it stays silent for
        Warntime after the tracker is back, so a restart never reports live nodes dead.
        """
        for view in components:
            record = _Record(max(view.last_heartbeat, now), view.sender_timestamp, view.status)
            record.state = view.state if view.state is not HbState.DEAD else HbState.ALIVE
            old = self._records.get(view.xname)
            if old is not None:
                self._drop(view.xname, old)
            if record.state is HbState.WARNING:
                self._warning_count += 1
            self._records[view.xname] = record
            self._arm(view.xname, record)

    # -- internals ------------------------------------------------------------------------

    def _drop(self, xname: str, record: _Record) -> None:
        del self._records[xname]
        if record.state is HbState.WARNING:
            self._warning_count -= 1

    def _deadline(self, record: _Record) -> float:
        if record.state is HbState.ALIVE:
            return record.last + self._warntime
        return record.last + self._errtime

    def _arm(self, xname: str, record: _Record) -> None:
        record.armed = self._deadline(record)
        heapq.heappush(self._heap, (record.armed, xname))


def _check_times(warntime: float, errtime: float) -> None:
    if not 0 < warntime < errtime:
        raise ValueError(f"need 0 < warntime < errtime, got {warntime} and {errtime}")

"""What a running scenario looks like at one moment, for the live view (``on_snapshot``).

The runner builds a ``SimSnapshot`` from the mock HSM every so often and hands it to the
``on_snapshot`` callable; ``to_view_snapshot`` turns it into the live view's ``ViewSnapshot``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..hsm import MockHsm
from ..view import CellState, RecentTransition, ViewSnapshot, hsm_count_label

__all__ = ["SimSnapshot", "SnapshotBuilder", "SnapshotTransition", "to_view_snapshot"]

#: Recent transitions kept in a snapshot.
RECENT = 20


@dataclass(frozen=True, slots=True)
class SnapshotTransition:
    """One node's HSM State/Flag changing: labels such as ``Ready/OK`` before and after."""

    time: float
    xname: str
    before: str
    after: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SimSnapshot:
    """A running scenario at one moment.

    Attributes:
        title: the scenario name.
        time: seconds since the start of the run (virtual or live).
        duration: length of the run in seconds.
        counts: fleet nodes per HSM label (``Ready/OK``, ``Standby/Alert``, ``Off``, ...).
        transitions: the latest HSM changes, oldest first.
        nodes: every fleet node's (State, Flag) in HSM (absent: HSM does not know it).
        notice: one line of news (tracker restarting, HSM down), or empty.
    """

    title: str
    time: float
    duration: float
    counts: Mapping[str, int] = field(default_factory=dict)
    transitions: tuple[SnapshotTransition, ...] = ()
    nodes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    notice: str = ""


class SnapshotBuilder:
    """Builds snapshots of one run from its mock HSM, following the change log.

    Args:
        title: the scenario name.
        duration: the run's length.
        nodes: the fleet.
        hsm: the mock HSM of the run.
    """

    def __init__(
        self, *, title: str, duration: float, nodes: tuple[str, ...], hsm: MockHsm
    ) -> None:
        self.title = title
        self.duration = duration
        self._nodes = nodes
        self._fleet = frozenset(nodes)
        self._hsm = hsm
        # Each node's label before the changes not yet read: HSM's state at the start.
        self._labels: dict[str, str] = {
            x: hsm_count_label(c.state, c.flag)
            for x, c in hsm.components.items()
            if x in self._fleet
        }
        self._seen = 0
        self._recent: deque[SnapshotTransition] = deque(maxlen=RECENT)
        self.notice = ""

    def build(self, time: float) -> SimSnapshot:
        """Return the snapshot at ``time`` (seconds from the start)."""
        components = self._hsm.components
        labels = self._labels
        for change in self._hsm.changes(self._seen):
            self._seen = change.index + 1
            # Only the last few changes are listed: a wave of 10,000 shows its tail.
            for xname in change.ids[-RECENT:]:
                if xname not in self._fleet:
                    continue
                before = labels.get(xname, "?")
                component = components.get(xname)
                after = hsm_count_label(component.state, component.flag) if component else "?"
                self._recent.append(SnapshotTransition(change.time, xname, before, after))
            for xname in change.ids:
                component = components.get(xname)
                if component is not None:
                    labels[xname] = hsm_count_label(component.state, component.flag)
        nodes: dict[str, tuple[str, str]] = {}
        counts: Counter[str] = Counter()
        for xname in self._nodes:
            component = components.get(xname)
            if component is None:
                counts["unknown"] += 1
                continue
            nodes[xname] = (component.state, component.flag)
            label = hsm_count_label(component.state, component.flag)
            counts[label] += 1
        return SimSnapshot(
            title=self.title,
            time=max(0.0, time),
            duration=self.duration,
            counts=dict(counts),
            transitions=tuple(self._recent),
            nodes=nodes,
            notice=self.notice,
        )


def to_view_snapshot(snapshot: SimSnapshot) -> ViewSnapshot:
    """Turn a runner snapshot into what the live view renders."""
    return ViewSnapshot(
        title=snapshot.title,
        time=snapshot.time,
        duration=snapshot.duration,
        counts=snapshot.counts,
        transitions=tuple(
            RecentTransition(time=max(0.0, t.time), xname=t.xname, before=t.before, after=t.after)
            for t in snapshot.transitions
        ),
        nodes={x: CellState.from_hsm(s, f) for x, (s, f) in snapshot.nodes.items()},
        notice=snapshot.notice,
    )

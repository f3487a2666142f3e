"""HSM's StateData rules as hbtd needs them: what a 204 really changed, and what hbtd asserts.

HSM answers a StateData PATCH with 204 even when it changes nothing: a component whose current
State is not an allowed *start state* for the target is silently skipped (hms-base
``hmsValidStartStatesMap``). Ready with Flag Warning is applied only to a component that is
Ready already, and a Locked flag stays Locked whatever is asked. hbtd never sends ``Force``, so
this table, carried over from HSM, tells whether a 204 was an acknowledgement.

Reconciliation reads HSM back and asserts only what hbtd owns (:func:`asserted_change`): a node that
beats is Ready/OK; a node in warning is Ready/Warning while HSM has it Ready; a dead node is
Standby/Alert while HSM has it Ready. Everything else (Off, On, Halt, Empty, a Standby another
writer set) belongs to someone else and is left alone, so hbtd never fights another writer in
a loop. Sans-IO: plain functions over strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ._states import Kind

__all__ = ["HSM_START_STATES", "HsmView", "asserted_change", "hsm_outcome", "view_of"]

#: Target State -> the current States from which HSM applies a StateData change without Force.
#: An empty tuple: never without Force (HSM answers 400, hbtd never asks for these).
HSM_START_STATES: Final[dict[str, frozenset[str]]] = {
    "Unknown": frozenset(),
    "Empty": frozenset(),
    "Populated": frozenset(),
    "Off": frozenset({"Off", "On", "Standby", "Halt", "Ready"}),
    "On": frozenset({"On", "Off", "Standby", "Halt"}),
    "Standby": frozenset({"Standby", "Ready"}),
    "Halt": frozenset({"Halt", "Ready"}),
    "Ready": frozenset({"Ready", "On", "Off", "Standby", "Halt"}),
}
# Ready/Warning comes only from Ready, even with Force: a late warning must not resurrect a
# node whose state moved on.
_READY_WARNING_START: Final = frozenset({"Ready"})


@dataclass(frozen=True, slots=True)
class HsmView:
    """A component's State and Flag as HSM shows them (canonical spelling)."""

    state: str
    flag: str


def view_of(kind: Kind) -> HsmView:
    """The State and Flag that ``kind`` asks HSM for."""
    target = kind.hsm
    return HsmView(target.state, target.flag)


def hsm_outcome(current: HsmView, kind: Kind) -> HsmView | None:
    """What HSM shows after it answered 204 to ``kind`` for a component showing ``current``.

    Returns:
        The new State and Flag (``current`` itself when there was nothing to change), or None
        when HSM silently skipped the component: the 204 was no acknowledgement.
    """
    target = view_of(kind)
    if current == target:
        return current
    starts = (
        _READY_WARNING_START
        if (target.state, target.flag) == ("Ready", "Warning")
        else HSM_START_STATES.get(target.state, frozenset())
    )
    if current.state not in starts:
        return None
    # HSM's UPDATE keeps a Locked flag: CASE WHEN flag = 'Locked' THEN 'Locked'.
    return HsmView(target.state, "Locked" if current.flag == "Locked" else target.flag)


def _shows(current: HsmView, kind: Kind) -> bool:
    # A Locked flag is HSM's to keep: the State alone decides whether HSM shows the target.
    target = view_of(kind)
    return current.state == target.state and (
        current.flag == target.flag or current.flag == "Locked"
    )


def asserted_change(level: Kind, current: HsmView) -> Kind | None:
    """What reconciliation sends for a node whose heartbeat truth is ``level``, or None.

    Args:
        level: the heartbeat truth: STARTED or RESTARTED (beats), WARNING, or DEAD.
        current: what HSM shows, as read back.

    Returns:
        The change to send, only for states hbtd owns and HSM would apply; None leaves the
        component alone.
    """
    if _shows(current, level):
        return None
    if level in (Kind.STARTED, Kind.RESTARTED):
        # A beating node is Ready/OK from any powered state; Unknown, Empty and Populated
        # would be skipped (and are discovery's to set), so they are left alone.
        return Kind.RESTARTED if hsm_outcome(current, level) is not None else None
    if current.state != "Ready":
        return None  # a warning or a death is asserted only over hbtd's own Ready
    return level

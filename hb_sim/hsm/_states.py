"""HMS states and flags, and the StateData start-state table of the real HSM.

Theory of operation: HSM (``cray-smd``) changes a component's State and Flag only when its
current State is one of the allowed *start states* for the target State (hms-base
``hmsValidStartStatesMap``). ``Force`` empties the start list ("any state"), and only ``Force``
makes ``Unknown``, ``Empty`` and ``Populated`` legal targets. One rule sits on top of the table:
``Ready`` with Flag ``Warning`` may only be set on a component that is ``Ready`` already, even
when forced, so a late heartbeat warning cannot resurrect a node whose state moved on (see
docs/mock-hsm.md).

The table is data (``START_STATES``); ``allowed_start_states`` is the only code that reads it,
and tests and docs read the table directly. No I/O here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FLAGS",
    "START_STATES",
    "STATES",
    "allowed_start_states",
    "needs_force",
    "normalize_flag",
    "normalize_state",
]

#: Every HMS state, in hms-base order.
STATES: Final = ("Unknown", "Empty", "Populated", "Off", "On", "Standby", "Halt", "Ready")

#: Every HMS flag.
FLAGS: Final = ("Unknown", "OK", "Warning", "Alert", "Locked")

_STATE_BY_LOWER: Final = {state.lower(): state for state in STATES}
# "warn" is an upstream alias for Warning (hms-base hmstypes.go:189-205).
_FLAG_BY_LOWER: Final = {flag.lower(): flag for flag in FLAGS} | {"warn": "Warning"}

#: Target state -> current states from which a StateData PATCH without Force may move there.
#: An empty tuple means "never without Force" (the request is rejected, not skipped).
START_STATES: Final[dict[str, tuple[str, ...]]] = {
    "Unknown": (),
    "Empty": (),
    "Populated": (),
    "Off": ("Off", "On", "Standby", "Halt", "Ready"),
    "On": ("On", "Off", "Standby", "Halt"),
    "Standby": ("Standby", "Ready"),
    "Halt": ("Halt", "Ready"),
    "Ready": ("Ready", "On", "Off", "Standby", "Halt"),
}

_READY_WARNING_START: Final = frozenset({"Ready"})


def normalize_state(value: str) -> str | None:
    """Return the canonical spelling of an HMS state, matched case-insensitively.

    Args:
        value: a state name in any case, e.g. ``"standby"``.

    Returns:
        The canonical name (``"Standby"``), or None when ``value`` names no state.
    """
    return _STATE_BY_LOWER.get(value.strip().lower())


def normalize_flag(value: str) -> str | None:
    """Return the canonical spelling of an HMS flag, matched case-insensitively.

    Args:
        value: a flag name in any case; ``"warn"`` is accepted for ``Warning``.

    Returns:
        The canonical name, or None when ``value`` names no flag.
    """
    return _FLAG_BY_LOWER.get(value.strip().lower())


def allowed_start_states(state: str, flag: str, *, force: bool) -> frozenset[str] | None:
    """Tell from which current states a StateData update to ``state``/``flag`` may start.

    Args:
        state: the canonical target state.
        flag: the canonical target flag.
        force: the request's ``Force``.

    Returns:
        The allowed current states, or None when any current state is allowed. Callers check
        ``needs_force`` first: for those targets an unforced request is an error, not a skip.

    Raises:
        KeyError: ``state`` is not a canonical state name.
    """
    starts = START_STATES[state]
    if state == "Ready" and flag == "Warning":
        return _READY_WARNING_START
    if force:
        return None
    return frozenset(starts)


def needs_force(state: str) -> bool:
    """Tell whether ``state`` can only be set with ``Force`` (Unknown, Empty, Populated)."""
    return not START_STATES[state]

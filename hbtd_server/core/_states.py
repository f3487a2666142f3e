"""Heartbeat states, the transitions between them, and what each transition tells the world.

Theory of operation. A component the tracker has never heard from (or has forgotten) is not
tracked at all. Its first heartbeat makes it ``ALIVE`` and is reported as *started*. A
component that stays silent for Warntime becomes ``WARNING`` (*warning*: "might be dead"), and
after Errtime it is ``DEAD`` (*dead*: "declared dead") and dropped from tracking, so its next
heartbeat is *started* again. A heartbeat from a component in ``WARNING`` makes it ``ALIVE`` at
once and is reported as *restarted*. A heartbeat whose Status is ``Shutdown`` (an extension)
forgets the component silently, so a planned shutdown raises no alarm.

``TRANSITIONS`` is the one table of legal moves; the tracker, the tests and the state diagram in
``docs/`` all read it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "TRANSITIONS",
    "HbState",
    "HsmTarget",
    "Kind",
    "Trigger",
    "state_diagram",
]


class HbState(enum.Enum):
    """Where a tracked component stands. Untracked components have no state (None)."""

    ALIVE = "alive"
    WARNING = "warning"
    DEAD = "dead"


class Trigger(enum.Enum):
    """What can move a component."""

    HEARTBEAT = "heartbeat"
    WARNTIME_PASSED = "warntime passed"
    ERRTIME_PASSED = "errtime passed"


@dataclass(frozen=True, slots=True)
class HsmTarget:
    """The HSM StateData a transition asks for, and the telemetry text that announces it."""

    state: str
    flag: str
    message: str
    telemetry_info: str


class Kind(enum.Enum):
    """The four reported transitions, with upstream's HSM and telemetry strings."""

    STARTED = HsmTarget("Ready", "OK", "Heartbeat started", "Heartbeat started.")
    RESTARTED = HsmTarget("Ready", "OK", "Heartbeat restarted", "Heartbeat re-started.")
    WARNING = HsmTarget(
        "Ready",
        "Warning",
        "Heartbeat stopped -- might be dead",
        "Heartbeat stopped, node may be dead.",
    )
    DEAD = HsmTarget(
        "Standby", "Alert", "Heartbeat stopped -- declared dead", "Heartbeat stopped, node is dead."
    )

    @property
    def hsm(self) -> HsmTarget:
        """The HSM state, flag and messages for this transition."""
        target: HsmTarget = self.value
        return target


#: (state before, trigger) -> (state after, reported kind). A missing key is not a move.
TRANSITIONS: dict[tuple[HbState | None, Trigger], tuple[HbState, Kind | None]] = {
    (None, Trigger.HEARTBEAT): (HbState.ALIVE, Kind.STARTED),
    (HbState.ALIVE, Trigger.HEARTBEAT): (HbState.ALIVE, None),
    (HbState.ALIVE, Trigger.WARNTIME_PASSED): (HbState.WARNING, Kind.WARNING),
    (HbState.WARNING, Trigger.HEARTBEAT): (HbState.ALIVE, Kind.RESTARTED),
    (HbState.WARNING, Trigger.ERRTIME_PASSED): (HbState.DEAD, Kind.DEAD),
    (HbState.DEAD, Trigger.HEARTBEAT): (HbState.ALIVE, Kind.STARTED),
}


def state_diagram() -> str:
    """The transition table as a Mermaid state diagram (``docs/states.md`` embeds it)."""
    lines = ["stateDiagram-v2"]
    for (before, trigger), (after, kind) in TRANSITIONS.items():
        source = "[*]" if before is None else before.name.lower()
        label = trigger.value + (f" / {kind.name.lower()}" if kind else "")
        lines.append(f"    {source} --> {after.name.lower()}: {label}")
    lines.append("    dead --> [*]: dropped")
    return "\n".join(lines)

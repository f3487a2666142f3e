"""What the timeline player needs of a fleet, and what a fleet tells the run's truth.

Both fleets (``VirtualFleet`` in virtual time, ``LiveFleet`` over real sockets) refer to nodes
by their index in the fleet, so the levers cost a list lookup, not a dict lookup per beat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["DeliveryLog", "HeartbeatFleet"]


class DeliveryLog(Protocol):
    """Told of every heartbeat that gets through (the run's truth implements it).

    Attributes:
        last: per node, the arrival of its last delivered heartbeat (-inf before the first).
        min_warntime: gaps shorter than this can hold no transition (the cheap test).
    """

    last: list[float]
    min_warntime: float

    def delivered(self, node: int, now: float) -> None:
        """A heartbeat of ``node`` reached the tracker's address at ``now``."""

    def gap(self, node: int, prev: float, now: float) -> None:
        """``node`` was silent from ``prev`` until ``now`` (``last`` is already updated)."""

    def shutdown(self, node: int, now: float) -> None:
        """``node`` announced a clean shutdown at ``now``: the tracker forgets it."""


class HeartbeatFleet(Protocol):
    """The levers a scenario's timeline pulls, whatever the clock.

    Attributes:
        sent: heartbeats the agents sent (lost ones included).
        delivered: heartbeats that reached the tracker's address.
    """

    sent: int
    delivered: int

    def stop(self, nodes: Sequence[int]) -> None:
        """The agents stop (a crash, a power loss) until ``revive``."""

    def revive(self, nodes: Sequence[int]) -> None:
        """The agents run again and send at once."""

    def shut_down(self, nodes: Sequence[int]) -> None:
        """The agents send one heartbeat with Status ``Shutdown``, then stop."""

    def cut(self, nodes: Sequence[int], *, lost: bool) -> None:
        """The network loses (``lost``) or carries again the nodes' heartbeats."""

    def delay(self, nodes: Sequence[int], by: float) -> None:
        """From now on the nodes' heartbeats arrive ``by`` seconds late (0: on time)."""

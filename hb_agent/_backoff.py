"""Retry delays for a heartbeat the tracker did not take: never sooner than a healthy beat.

The point is the fleet's total rate. When a tracker restarts or is overloaded, thousands of
agents fail at once; if each retried sooner than its interval, the fleet would send more than
a healthy fleet exactly when the tracker can least take it (the earlier "equal jitter" below
the interval did: about 1.33 times the healthy rate while a tracker recovered). So every
delay is at least the heartbeat interval (the floor), and the random part lies above it
("full jitter above the interval"): a failing agent never sends more often than a healthy
one, and a fleet that failed together spreads out instead of retrying in step.

The cap bounds the wait, so heartbeats resume soon after the tracker is back: by default the
interval plus its jitter, and at most a third of the tracker's Warntime once ``/params`` has
been read (never below the floor: a retry cannot beat more often than the agent already does).
"""

from __future__ import annotations

import math
import random

__all__ = ["Backoff"]


def _positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"backoff {name} must be a positive number, not {value!r}")
    return value


class Backoff:
    """Delays drawn from ``[floor, min(cap, floor * 2**(k + 1))]`` after the k-th failure.

    Args:
        floor: the shortest delay: the heartbeat interval.
        cap: the longest delay; a cap below the floor counts as the floor.
        rng: the random source (tests pass a seeded one).

    Raises:
        ValueError: when ``floor`` or ``cap`` is not a positive finite number.
    """

    def __init__(self, *, floor: float, cap: float, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._floor = _positive("floor", floor)
        self._cap = floor
        self._attempt = 0
        self.set_cap(cap)

    @property
    def floor(self) -> float:
        """The shortest delay, in seconds."""
        return self._floor

    @property
    def cap(self) -> float:
        """The longest delay, in seconds (never below the floor)."""
        return self._cap

    def set_cap(self, cap: float) -> None:
        """Change the longest delay (for example after reading the tracker's Warntime).

        Raises:
            ValueError: when ``cap`` is not a positive finite number.
        """
        self._cap = max(self._floor, _positive("cap", cap))

    def reset(self) -> None:
        """Start again from the first delay (after a success)."""
        self._attempt = 0

    def next_delay(self) -> float:
        """Return the delay before the next retry and advance the sequence."""
        # The exponent is bounded so a months-long outage cannot overflow the float.
        ceiling = min(self._cap, self._floor * 2.0 ** min(self._attempt + 1, 60))
        self._attempt += 1
        return self._rng.uniform(self._floor, ceiling)

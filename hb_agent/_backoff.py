"""Exponential backoff with jitter, for retrying a heartbeat the tracker did not take.

The cap is the point: it is at most one heartbeat interval (and at most a third of the
tracker's Warntime once ``/params`` has been read), so a retrying agent never sends more slowly
than a healthy one, heartbeats resume within one interval of the tracker coming back, and a
fleet that lost its tracker never sends faster in total than it does when all is well. The
short first delays retry a single lost heartbeat long before Warntime is near.
"""

from __future__ import annotations

import math
import random

__all__ = ["Backoff"]


class Backoff:
    """Delays ``first, 2*first, 4*first, ...`` up to ``cap``, each drawn from ``[d/2, d]``.

    "Equal jitter": half of each delay is fixed, so retries never bunch up at zero, and half is
    random, so a fleet that failed together does not retry together.

    Args:
        cap: the longest delay, in seconds.
        first: the first delay before jitter; defaults to ``cap / 8``.
        rng: the random source (tests pass a seeded one).
    """

    def __init__(
        self, *, cap: float, first: float | None = None, rng: random.Random | None = None
    ) -> None:
        self._rng = rng or random.Random()
        self._cap = 0.0
        self._first = first
        self._attempt = 0
        self.set_cap(cap)

    @property
    def cap(self) -> float:
        """The longest delay, in seconds."""
        return self._cap

    def set_cap(self, cap: float) -> None:
        """Change the longest delay (for example after reading the tracker's Warntime).

        Raises:
            ValueError: when ``cap`` is not a positive finite number.
        """
        if not (math.isfinite(cap) and cap > 0):
            raise ValueError(f"backoff cap must be a positive number, not {cap!r}")
        self._cap = cap

    def reset(self) -> None:
        """Start again from the first delay (after a success)."""
        self._attempt = 0

    def next_delay(self) -> float:
        """Return the delay before the next retry and advance the sequence."""
        first = min(self._first if self._first is not None else self._cap / 8, self._cap)
        # The exponent is bounded so a months-long outage cannot overflow the float.
        ceiling = min(self._cap, first * 2.0 ** min(self._attempt, 60))
        self._attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

"""The mass-silence guard: when everyone goes quiet at once, suspect ourselves first.

When the tracker's own path to the node network breaks, every node falls silent at the same
moment, and a naive tracker declares the whole machine dead. The guard tells "many nodes
stopped" from "I stopped hearing anyone": when more than ``share`` of the tracked components
(and at least ``min_count``) are in warning *and* no heartbeat at all has arrived for Warntime,
it engages (*suspect-self*). While engaged, warnings are still reported (Ready/Warning is
harmless and tells operators something is wrong) but alerts (Standby/Alert) are held.

The hold ends when:

* heartbeats arrive again: the tracker was fine, or its network is back. Nodes that are alive
  beat again within Warntime, so after that grace the alerts still held for components that
  stayed silent are released, and those that came back are dropped;
* or the hold reaches ``hold_limit``: the held alerts are released, since a machine-wide power
  loss is real too. The guard then stays off until a heartbeat arrives.

A failure of part of the machine never engages it: other components keep beating. Sans-IO:
callers pass ``now``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ._states import Kind
from ._tracker import Transition

__all__ = ["GuardSettings", "GuardStatus", "SilenceGuard"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardSettings:
    """How the guard decides.

    Attributes:
        share: fraction (0-1) of tracked components that must be in warning; 0 disables.
        min_count: the fewest components in warning that can engage it.
        hold_limit: the longest alerts are held, in seconds.
    """

    share: float = 0.5
    min_count: int = 20
    hold_limit: float = 300.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"share must be between 0 and 1, not {self.share}")
        if self.min_count < 1 or self.hold_limit <= 0:
            raise ValueError("min_count and hold_limit must be positive")

    @property
    def enabled(self) -> bool:
        """Whether the guard can engage at all."""
        return self.share > 0.0


@dataclass(frozen=True, slots=True)
class GuardStatus:
    """What the guard is doing, for ``/health`` and the logs."""

    engaged_since: float | None
    recovering_since: float | None
    held: int
    released_total: int


class SilenceGuard:
    """Holds alerts while the tracker may itself be cut off.

    Args:
        settings: the thresholds.
    """

    def __init__(self, settings: GuardSettings | None = None) -> None:
        self.settings = settings or GuardSettings()
        self.last_heartbeat = -math.inf
        self.engaged_since: float | None = None
        self.recovering_since: float | None = None
        self.released_total = 0
        self._held: dict[str, Transition] = {}
        self._latched = False  # a hold ran out: stay off until someone beats again

    # -- events in ------------------------------------------------------------------------

    def heartbeat(self, now: float) -> bool:
        """Note that a heartbeat arrived. Returns True when that starts the recovery grace."""
        self.last_heartbeat = now
        self._latched = False
        if self.engaged_since is not None and self.recovering_since is None:
            self.recovering_since = now
            return True
        return False

    def filter(
        self, transitions: list[Transition], now: float, *, tracked: int, warning: int,
        warntime: float,
    ) -> list[Transition]:  # fmt: skip
        """Decide whether to engage, and hold the alerts among ``transitions`` if engaged.

        Args:
            transitions: what the tracker just reported.
            now: the current time.
            tracked: components tracked now (after these transitions).
            warning: of those, how many are in warning.
            warntime: the current Warntime: "no heartbeat from anyone" means for this long.

        Returns:
            The transitions to report now.
        """
        if self.engaged_since is None and self._should_engage(now, tracked, warning, warntime):
            self.engaged_since = now
        if self.engaged_since is None:
            return transitions
        passed = []
        for transition in transitions:
            if transition.kind is Kind.DEAD:
                self._held[transition.xname] = transition
            else:
                passed.append(transition)
        return passed

    def poll(
        self, now: float, *, warntime: float, is_tracked: Callable[[str], bool]
    ) -> tuple[list[Transition], str | None]:
        """Release held alerts when the hold is over.

        Args:
            now: the current time.
            warntime: the recovery grace after heartbeats resume.
            is_tracked: whether a component has been heard from again (tracked anew).

        Returns:
            The alerts to report now (re-stamped with ``now``), and why the hold ended (None
            while it goes on).
        """
        if self.engaged_since is None:
            return [], None
        if self.recovering_since is not None and now >= self.recovering_since + warntime:
            reason = "heartbeats resumed"
        elif now >= self.engaged_since + self.settings.hold_limit:
            reason = "hold limit reached"
            self._latched = True
        else:
            return [], None
        released = [
            dataclasses.replace(t, at=now) for x, t in self._held.items() if not is_tracked(x)
        ]
        self._held = {}
        self.engaged_since = self.recovering_since = None
        self.released_total += len(released)
        return released, reason

    def disable_if_off(self) -> list[Transition]:
        """After a settings change: if the guard is now disabled, give back what it holds."""
        if self.settings.enabled or self.engaged_since is None:
            return []
        held = list(self._held.values())
        self._held = {}
        self.engaged_since = self.recovering_since = None
        return held

    # -- queries --------------------------------------------------------------------------

    def next_deadline(self, warntime: float) -> float | None:
        """When :meth:`poll` next has something to do, or None."""
        if self.engaged_since is None:
            return None
        limit = self.engaged_since + self.settings.hold_limit
        if self.recovering_since is not None:
            return min(limit, self.recovering_since + warntime)
        return limit

    def status(self) -> GuardStatus:
        """A snapshot for health reports."""
        return GuardStatus(
            self.engaged_since, self.recovering_since, len(self._held), self.released_total
        )

    def held(self) -> Iterable[str]:
        """The components whose alerts are held."""
        return self._held.keys()

    # -- internals ------------------------------------------------------------------------

    def _should_engage(self, now: float, tracked: int, warning: int, warntime: float) -> bool:
        settings = self.settings
        return (
            settings.enabled
            and not self._latched
            # (A hair of tolerance: ``last + warntime - last`` can round below warntime.)
            and now - self.last_heartbeat >= warntime - 1e-6
            and warning >= settings.min_count
            and warning > settings.share * tracked
        )

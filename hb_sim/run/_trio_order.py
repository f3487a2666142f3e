"""The one reach into trio's internals: a repeatable order among simultaneous wake-ups.

In virtual time many timers fall due at the very same instant (a fleet slot, a detector
deadline, the notifier's batching window), and trio orders the tasks that wake together by two
things that differ from run to run: a coin flip from its module-level generator
(``trio._core._run._r``), and the ``id()`` of cancel scopes as the deadline heap's
tie-breaker (``Deadlines.add``). Trio has no public API for either (its MockClock and
``wait_all_tasks_blocked``, which the simulator uses, govern *when*, not *in which order*).

``repeatable_order`` seeds the one and replaces the other with a counter for the length of one
``trio.run``, and puts both back afterwards. Which side wins a deadline tie does not depend on
this order (the virtual fleet lets deadlines fire first, see ``hb_sim.fleet``); only the
order of other simultaneous events does, so that the same scenario and seed give the same run,
event for event, in any process. ``tests/sim/test_trio_order.py`` fails loudly when trio
changes these internals; until then runs still pass the same checks, only less repeatably.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
from collections.abc import Iterator
from typing import Any

import trio

__all__ = ["repeatable_order", "trio_internals"]


def trio_internals() -> tuple[random.Random, Any] | None:
    """trio's scheduler generator and its ``Deadlines`` class, or None if they moved."""
    core = getattr(getattr(trio, "_core", None), "_run", None)
    scheduler_rng = getattr(core, "_r", None)
    deadlines = getattr(core, "Deadlines", None)
    if not isinstance(scheduler_rng, random.Random) or not callable(
        getattr(deadlines, "add", None)
    ):
        return None
    return scheduler_rng, deadlines


@contextlib.contextmanager
def repeatable_order(seed: str) -> Iterator[None]:
    """Make trio's order among tasks that wake at the same instant depend on ``seed`` only.

    Not re-entrant, and for one thread: wrap one ``trio.run`` with it.

    Args:
        seed: seeds trio's scheduler generator.
    """
    found = trio_internals()
    if found is None:
        yield
        return
    scheduler_rng, deadlines = found
    saved_state = scheduler_rng.getstate()
    original_add = deadlines.add
    order = itertools.count()

    def add(self: Any, deadline: float, cancel_scope: trio.CancelScope) -> None:
        heapq.heappush(self._heap, (deadline, next(order), cancel_scope))
        self._active += 1

    scheduler_rng.seed(seed)
    deadlines.add = add
    try:
        yield
    finally:
        deadlines.add = original_add
        scheduler_rng.setstate(saved_state)

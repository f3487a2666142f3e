"""The invariant ``hsm_follows_truth``: HSM is only ever told what the truth had, in order.

Theory of operation: for every fleet node, the StateData PATCHes HSM received (whatever it
answered) are walked in time order against the node's truth, a list of (time, State/Flag)
changes. A PATCH at ``t`` with value ``v`` matches the earliest truth change, not before the
one the previous PATCH matched, whose value is ``v`` and whose span (from its time until the
next change) reaches into ``[t - allowance, t]``. The allowance is the scenario's detection
lateness, plus any time HSM was faulted or the tracker away in that window (a state sent after
an outage may be that old). A PATCH that matches nothing is one of two faults:

- *never had*: the truth never had ``v`` near ``t`` (a spurious Warning, an Alert too early);
- *out of order*: it did, but only before a state HSM was already told (an old state resent
  after a newer one, e.g. a Warning after the Alert).

Repeats of the state last sent are fine (retries, a resend after a leader change). The
truth walked is ``Truth.told``: an edge HSM skipped (another writer moved the node) may be
sent when due, but not again once HSM keeps its own value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ._record import EXAMPLES
from ._truth import Truth, TruthChange

__all__ = ["StatePatch", "follows_truth", "overlap"]

#: A node's PATCH: time, State, Flag.
StatePatch = tuple[float, str, str]


def overlap(intervals: Iterable[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``[start, end]`` inside any of ``intervals``.

    The intervals may overlap one another (HSM faulted while the tracker was away): they are
    merged first, so no time is counted twice.
    """
    merged: list[list[float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in merged)


def _span_end(history: Sequence[TruthChange], index: int) -> float:
    return history[index + 1].time if index + 1 < len(history) else math.inf


def _match(
    history: Sequence[TruthChange], first: int, value: tuple[str, str], low: float, high: float
) -> int | None:
    for index in range(first, len(history)):
        change = history[index]
        if change.time > high:
            return None
        if (change.state, change.flag) == value and _span_end(history, index) >= low:
            return index
    return None


def follows_truth(
    truth: Truth,
    patches: dict[str, list[StatePatch]],
    *,
    allowance: float,
    away: Sequence[tuple[float, float]],
) -> tuple[int, int, list[str]]:
    """Check every node's PATCHes against its truth.

    Args:
        truth: the closed truth of the run.
        patches: per fleet node, the (time, State, Flag) HSM received, in time order.
        allowance: how long after the truth left a state HSM may still be told it.
        away: intervals HSM was faulted or the tracker away (they extend the allowance).

    Returns:
        (PATCHed states checked, faults, a few examples).
    """
    checked = faults = 0
    examples: list[str] = []
    for xname, sent in patches.items():
        history = truth.told(xname)
        at = 0  # the truth change the previous PATCH matched
        for time, state, flag in sent:
            checked += 1
            low = time - allowance
            low -= overlap(away, low, time)
            index = _match(history, at, (state, flag), low, time)
            if index is not None:
                at = index
                continue
            faults += 1
            if len(examples) >= EXAMPLES:
                continue
            now = truth.at(xname, time)
            earlier = _match(history, 0, (state, flag), low, time)
            why = (
                f"after {history[at].state}/{history[at].flag} (out of order)"
                if earlier is not None
                else "which the truth never had then"
            )
            examples.append(
                f"{xname}: HSM told {state}/{flag} at {time:.1f} s, {why}; "
                f"truth {now.state}/{now.flag} since {now.time:.1f} s"
            )
    return checked, faults, examples

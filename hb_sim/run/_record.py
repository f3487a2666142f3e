"""What the checks read and write: the run's record, HSM's history, and a verdict."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..hsm import RecordedRequest, StateChange
from ..scenario import (
    Scenario,
    Selection,
)
from ._truth import Truth

__all__ = ["EXAMPLES", "HsmHistory", "RunRecord", "Verdict", "label"]

#: Examples of what went wrong kept per verdict.
EXAMPLES: Final = 5


def label(state: str | None, flag: str | None) -> str:
    """``Ready/OK``; ``Ready`` or ``OK`` when only one is given; ``?`` for neither."""
    return "/".join(part for part in (state, flag) if part) or "?"


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The outcome of one expectation or invariant.

    Attributes:
        name: the expectation's name, or the invariant's key.
        kind: ``expectation`` or ``invariant``.
        passed: whether it held.
        expected: what was wanted, in words.
        seen: what happened, in words.
        line: where the scenario writes it (0 for defaults not written).
        details: examples of what went wrong (a few lines).
    """

    name: str
    kind: Literal["expectation", "invariant"]
    passed: bool
    expected: str
    seen: str
    line: int = 0
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the verdict as a JSON object."""
        return {
            "name": self.name,
            "kind": self.kind,
            "passed": self.passed,
            "expected": self.expected,
            "seen": self.seen,
            "line": self.line,
            "details": list(self.details),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """Everything a finished run leaves for the checks. Times are seconds from the start.

    Attributes:
        scenario: what was played.
        selection: its resolver (the one the run used, so random sets agree).
        end: when the run ended.
        truth: every node's truth, closed at ``end``.
        hsm_initial: (State, Flag) of every fleet node HSM knew at the start.
        changes: HSM's state changes.
        requests: every request HSM received.
        heartbeating: for each expectation with ``heartbeating`` (by index), samples of
            ``/hbstates``: (time, xname -> Heartbeating).
        hsm_faulted: intervals HSM was down, unready or answering errors.
        tracker_down: intervals the tracker was away (restarts).
        exact_time: instants are exact (virtual time). In live time a heartbeat and a deadline
            closer than the network's jitter come in an order nobody can observe.
    """

    scenario: Scenario
    selection: Selection
    end: float
    truth: Truth
    hsm_initial: Mapping[str, tuple[str, str]]
    changes: Sequence[StateChange]
    requests: Sequence[RecordedRequest]
    heartbeating: Mapping[int, Sequence[tuple[float, Mapping[str, bool]]]] = field(
        default_factory=dict
    )
    hsm_faulted: Sequence[tuple[float, float]] = ()
    tracker_down: Sequence[tuple[float, float]] = ()
    exact_time: bool = True


class HsmHistory:
    """Each fleet node's HSM (State, Flag) over time, rebuilt from the state changes.

    Args:
        initial: (State, Flag) of each node at the start.
        changes: the state changes, in order.
    """

    def __init__(
        self, initial: Mapping[str, tuple[str, str]], changes: Iterable[StateChange]
    ) -> None:
        self._times: dict[str, list[float]] = {x: [-math.inf] for x in initial}
        self._values: dict[str, list[tuple[str, str]]] = {x: [sf] for x, sf in initial.items()}
        for change in changes:
            for xname in change.ids:
                values = self._values.get(xname)
                if values is None:
                    continue
                # HSM keeps a Locked flag; an invalid requested flag was stored as OK.
                flag = "Locked" if values[-1][1] == "Locked" else (change.flag or "OK")
                self._times[xname].append(change.time)
                values.append((change.state, flag))

    def __contains__(self, xname: object) -> bool:
        return xname in self._values

    def at(self, xname: str, time: float) -> tuple[str, str]:
        """(State, Flag) of ``xname`` at ``time`` (a change at ``time`` counts)."""
        index = bisect.bisect_right(self._times[xname], time) - 1
        return self._values[xname][max(index, 0)]

    def spans(self, xname: str) -> list[tuple[float, float, tuple[str, str]]]:
        """(from, until, (State, Flag)) for every value ``xname`` had; the last until inf."""
        times = self._times[xname]
        values = self._values[xname]
        return [
            (times[i], times[i + 1] if i + 1 < len(times) else math.inf, values[i])
            for i in range(len(values))
        ]

    def first_at_or_after(self, xname: str, time: float, value: tuple[str, str]) -> float | None:
        """The first instant >= ``time`` at which ``xname`` shows ``value``, or None."""
        for start, until, shown in self.spans(xname):
            if until > time and shown == value:
                return max(start, time)
        return None

    def final(self, xname: str) -> tuple[str, str]:
        """The last (State, Flag) of ``xname``."""
        return self._values[xname][-1]

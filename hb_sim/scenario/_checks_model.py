"""The checks of a scenario, as frozen dataclasses: point expectations and invariants.

Part of the scenario model (``_model``), kept apart to keep modules small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ._selectors import Selector

__all__ = ["DEFAULT_LATENESS", "Expectation", "Invariants"]


def _require(condition: bool, message: str) -> None:
    # Dataclasses check themselves when built, so a bad scenario object cannot exist even
    # when built in Python rather than loaded (the loader reports the same problems, located).
    if not condition:
        raise ValueError(message)


# -- checks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """A check of HSM (and optionally the tracker) for a set of nodes.

    Exactly one of ``at`` and ``by`` is set. ``at``: the condition holds at that instant.
    ``by``: it holds at some instant in ``[after, by]``. Fields left None are not checked.

    Attributes:
        name: a label for the verdict table.
        line: where it is written.
        nodes: the nodes checked; every one must satisfy the condition.
        at: the instant, or None.
        by: the deadline, or None.
        after: start of the ``by`` window (0 when not given).
        state: the HSM State wanted, or None.
        flag: the HSM Flag wanted, or None.
        heartbeating: what the tracker's ``/hbstates`` must say, or None.
    """

    name: str
    line: int
    nodes: Selector
    at: float | None = None
    by: float | None = None
    after: float = 0.0
    state: str | None = None
    flag: str | None = None
    heartbeating: bool | None = None

    def __post_init__(self) -> None:
        _require((self.at is None) != (self.by is None), "give exactly one of at and by")
        _require(
            (self.state, self.flag, self.heartbeating) != (None, None, None),
            "give at least one of state, flag and heartbeating",
        )
        _require(self.by is None or 0 <= self.after <= self.by, "need 0 <= after <= by")

    @property
    def deadline(self) -> float:
        """The last instant at which the check can pass (``at`` or ``by``)."""
        deadline = self.at if self.at is not None else self.by
        assert deadline is not None  # the loader guarantees exactly one
        return deadline


#: Seconds a transition may reach HSM after it was due, unless a scenario says otherwise: in
#: virtual time a warning 0.5 s late fails. The batching window is 0.2 s.
DEFAULT_LATENESS: Final = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Invariants:
    """Checks over the whole run.

    Attributes:
        no_false_alarms: no node that no event touched is ever set Warning or Alert.
        max_detection_lateness: at most this many seconds between the moment a transition is
            due (last heartbeat + warntime or errtime) and HSM showing it; None: not checked.
            It is also the allowance of ``hsm_follows_truth``.
        max_patches_per_wave: at most this many BulkStateData PATCHes per wave; None: not
            checked.
        wave_gap: PATCHes less than this many seconds apart belong to the same wave.
        final_state_matches_truth: at the end, every node's HSM State/Flag is what its
            real condition implies (beating: Ready/OK; silent long enough: Standby/Alert).
        no_stale_patches: no StateData PATCH names a node with a State/Flag its heartbeats
            had already left when the PATCH arrived (for example Ready/Warning resent after
            an HSM outage for a node already due Standby/Alert).
        messages_match_truth: every StateData PATCH carries HBTD's message for its
            State/Flag, and a Ready/OK says why: "Heartbeat restarted" for a node back from
            Ready/Warning, "Heartbeat started" for a new node or one back from Standby/Alert.
            PATCHes without an ``ExtendedInfo.Message`` are not checked.
        hsm_follows_truth: every State/Flag HSM is sent for a fleet node, touched by an event
            or not, is one the node's truth had at that time (within the lateness allowance),
            and they come in the truth's order.
        lines: where each invariant is written in the file, by key; ``""`` is where the
            defaults not written point (the ``invariants`` key, or the scenario's ``name``).
    """

    no_false_alarms: bool = True
    max_detection_lateness: float | None = DEFAULT_LATENESS
    max_patches_per_wave: int | None = None
    wave_gap: float = 5.0
    final_state_matches_truth: bool = True
    no_stale_patches: bool = False
    messages_match_truth: bool = True
    hsm_follows_truth: bool = True
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, key: str) -> int:
        """The line of invariant ``key``: its own, the section's for a default, else 1."""
        return self.lines.get(key) or self.lines.get("") or 1

    def __post_init__(self) -> None:
        _require(self.wave_gap > 0, "wave_gap must be more than 0")
        _require(
            self.max_patches_per_wave is None or self.max_patches_per_wave >= 1,
            "max_patches_per_wave must be at least 1",
        )
        _require(
            self.max_detection_lateness is None or self.max_detection_lateness >= 0,
            "max_detection_lateness must be 0 or more",
        )

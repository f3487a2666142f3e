"""Properties of the core state machine under any sequence of events (#8).

A hypothesis state machine drives one ``Tracker`` with heartbeats (including ``Shutdown``),
clock advances and Warntime/Errtime changes, and checks it against a tiny model after every
step:

- one state per component, and the tracker's counts and views agree with the model;
- every reported transition is a legal move of ``TRANSITIONS``, each component's in order;
- no deadline is missed: after ``advance(now)`` nothing is due at or before ``now``;
- no warning before Warntime and no death before Errtime of silence.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hbtd_server.core import (
    SHUTDOWN_STATUS,
    TRANSITIONS,
    HbState,
    Kind,
    Tracker,
    Transition,
    Trigger,
)

NAMES = st.sampled_from(["x0c0s0b0n0", "x0c0s0b0n1", "x0c0s1b0n0", "x1c0s0b0n0"])
STATUSES = st.sampled_from(["OK", "Kernel Oops", SHUTDOWN_STATUS])
STEPS = st.one_of(
    st.floats(min_value=0, max_value=2, allow_nan=False),
    st.floats(min_value=0, max_value=60, allow_nan=False),
    st.integers(min_value=0, max_value=60).map(float),  # land exactly on deadlines
)
# (state before, kind) for every reported move of the table.
LEGAL = {
    (before, kind): (trigger, after)
    for (before, trigger), (after, kind) in TRANSITIONS.items()
    if kind is not None
}


class TrackerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.warntime, self.errtime = 10.0, 30.0
        self.tracker = Tracker(warntime=self.warntime, errtime=self.errtime)
        self.now = 1000.0
        self.state: dict[str, HbState] = {}
        self.last: dict[str, float] = {}

    def check_move(self, transition: Transition, trigger: Trigger) -> None:
        before = self.state.get(transition.xname)
        if before is None and transition.kind is Kind.STARTED:
            before_key: HbState | None = None
        else:
            before_key = before
        assert (before_key, transition.kind) in LEGAL, (before, transition)
        expected_trigger, after = LEGAL[(before_key, transition.kind)]
        assert expected_trigger is trigger
        assert transition.at == self.now >= transition.due
        if after is HbState.DEAD:
            del self.state[transition.xname]
            del self.last[transition.xname]
        else:
            self.state[transition.xname] = after

    @rule(xname=NAMES, status=STATUSES)
    def heartbeat(self, xname: str, status: str) -> None:
        result = self.tracker.heartbeat(xname, self.now, timestamp=f"t{self.now}", status=status)
        if status == SHUTDOWN_STATUS and self.state.get(xname) is not HbState.WARNING:
            assert result is None  # forgotten quietly (from a node in warning: a heartbeat, #13)
            self.state.pop(xname, None)
            self.last.pop(xname, None)
            return
        if self.state.get(xname) is HbState.ALIVE:
            assert result is None
        else:
            assert result is not None
            assert result.kind is (Kind.STARTED if xname not in self.state else Kind.RESTARTED)
            assert result.due == self.now
            self.check_move(result, Trigger.HEARTBEAT)
        self.last[xname] = self.now

    @rule(step=STEPS)
    def advance(self, step: float) -> None:
        self.now += step
        fired = self.tracker.advance(self.now)
        # Per component, in deadline order (a warning before its death). Across components
        # the batch follows heap entries, which may lag a record's real deadline.
        for xname in {t.xname for t in fired}:
            dues = [t.due for t in fired if t.xname == xname]
            assert dues == sorted(dues)
        for transition in fired:
            last = self.last[transition.xname]
            if transition.kind is Kind.WARNING:
                assert transition.due == last + self.warntime  # never before Warntime
                self.check_move(transition, Trigger.WARNTIME_PASSED)
            else:
                assert transition.kind is Kind.DEAD
                assert transition.due == last + self.errtime  # never before Errtime
                self.check_move(transition, Trigger.ERRTIME_PASSED)
        # No deadline missed: whatever is still tracked is due strictly later.
        for xname, state in self.state.items():
            silence = self.warntime if state is HbState.ALIVE else self.errtime
            assert self.last[xname] + silence > self.now
        deadline = self.tracker.next_deadline()
        assert deadline is None or deadline > self.now

    @rule(
        warntime=st.integers(min_value=1, max_value=20),
        extra=st.integers(min_value=1, max_value=40),
    )
    def set_times(self, warntime: int, extra: int) -> None:
        self.warntime, self.errtime = float(warntime), float(warntime + extra)
        self.tracker.set_times(warntime=self.warntime, errtime=self.errtime)

    @invariant()
    def one_state_per_component(self) -> None:
        views = list(self.tracker.views())
        assert len({v.xname for v in views}) == len(views) == len(self.tracker)
        assert {v.xname: v.state for v in views} == self.state
        counts = self.tracker.counts()
        for state in (HbState.ALIVE, HbState.WARNING):
            assert counts[state] == sum(1 for s in self.state.values() if s is state)
        assert self.tracker.warning_count == counts[HbState.WARNING]
        for view in views:
            assert view.last_heartbeat == self.last[view.xname]


TrackerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_tracker_properties = TrackerMachine.TestCase

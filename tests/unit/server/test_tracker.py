"""The sans-IO tracker, driven with explicit times: every transition and the edge cases."""

from __future__ import annotations

import pytest

from hbtd_server.core import (
    SHUTDOWN_STATUS,
    TRANSITIONS,
    HbState,
    Kind,
    Tracker,
    Transition,
    Trigger,
)

X = "x0c0s0b0n0"
Y = "x0c0s0b0n1"


def beat(tracker: Tracker, xname: str, now: float, status: str = "OK") -> Transition | None:
    return tracker.heartbeat(xname, now, timestamp=f"ts@{now}", status=status)


def kinds(transitions: list[Transition]) -> list[tuple[str, Kind]]:
    return [(t.xname, t.kind) for t in transitions]


def test_first_heartbeat_is_started_at_once() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    transition = beat(tracker, X, 100.0)
    assert transition == Transition(X, Kind.STARTED, 100.0, 100.0, "ts@100.0", "OK")
    assert tracker.view(X) is not None
    assert tracker.next_deadline() == 110.0


def test_steady_heartbeats_report_nothing() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    for second in range(3, 300, 3):
        assert beat(tracker, X, float(second)) is None
        assert tracker.advance(float(second)) == []


def test_full_life_warning_at_warntime_dead_at_errtime() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 5.0)
    assert tracker.advance(14.999) == []
    [warning] = tracker.advance(15.0)
    assert (warning.kind, warning.due, warning.at) == (Kind.WARNING, 15.0, 15.0)
    assert warning.sender_timestamp == "ts@5.0"
    assert tracker.next_deadline() == 35.0
    assert tracker.advance(34.9) == []
    [dead] = tracker.advance(35.0)
    assert (dead.kind, dead.due) == (Kind.DEAD, 35.0)
    assert X not in tracker
    assert tracker.next_deadline() is None


def test_late_advance_reports_lateness_through_due() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    [warning] = tracker.advance(12.5)
    assert warning.due == 10.0
    assert warning.at == 12.5


def test_heartbeat_in_warning_is_restarted_at_once() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    tracker.advance(10.0)
    restarted = beat(tracker, X, 11.0)
    assert restarted is not None
    assert restarted.kind is Kind.RESTARTED
    assert tracker.view(X).state is HbState.ALIVE  # type: ignore[union-attr]
    # The next warning is due Warntime after the restart, not at the old Errtime deadline.
    assert tracker.advance(20.9) == []
    assert kinds(tracker.advance(21.0)) == [(X, Kind.WARNING)]


def test_heartbeat_after_death_is_started_again() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    assert kinds(tracker.advance(30.0)) == [(X, Kind.WARNING), (X, Kind.DEAD)]
    again = beat(tracker, X, 31.0)
    assert again is not None
    assert again.kind is Kind.STARTED


def test_heartbeat_exactly_at_the_deadline_wins_when_it_comes_first() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    assert beat(tracker, X, 10.0) is None
    assert tracker.advance(10.0) == []
    assert tracker.next_deadline() == 20.0  # re-armed from the new heartbeat


def test_deadline_is_inclusive_when_no_heartbeat_came() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    assert kinds(tracker.advance(10.0)) == [(X, Kind.WARNING)]


def test_is_heartbeating_is_time_based_like_upstream() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    assert not tracker.is_heartbeating(X, 0.0)
    beat(tracker, X, 0.0)
    tracker.advance(15.0)
    assert tracker.view(X).state is HbState.WARNING  # type: ignore[union-attr]
    assert tracker.is_heartbeating(X, 29.9)  # in warning, but still less than Errtime ago
    assert not tracker.is_heartbeating(X, 30.0)  # past Errtime even before the detector runs


def test_lowering_warntime_applies_to_tracked_components() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    beat(tracker, Y, 4.0)
    tracker.set_times(warntime=3, errtime=30)
    assert tracker.next_deadline() == 3.0
    assert kinds(tracker.advance(5.0)) == [(X, Kind.WARNING)]
    assert kinds(tracker.advance(7.0)) == [(Y, Kind.WARNING)]


def test_lowering_errtime_can_kill_at_once() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    tracker.advance(12.0)
    tracker.set_times(warntime=5, errtime=11)
    assert kinds(tracker.advance(12.0)) == [(X, Kind.DEAD)]


def test_raising_warntime_delays_warnings() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    tracker.set_times(warntime=20, errtime=40)
    assert tracker.advance(19.0) == []
    assert kinds(tracker.advance(20.0)) == [(X, Kind.WARNING)]


@pytest.mark.parametrize(("warntime", "errtime"), [(0, 10), (10, 10), (10, 5), (-1, 3)])
def test_times_must_be_ordered(warntime: float, errtime: float) -> None:
    with pytest.raises(ValueError, match="warntime < errtime"):
        Tracker(warntime=warntime, errtime=errtime)
    tracker = Tracker(warntime=1, errtime=2)
    with pytest.raises(ValueError, match="warntime < errtime"):
        tracker.set_times(warntime=warntime, errtime=errtime)
    assert (tracker.warntime, tracker.errtime) == (1, 2)


def test_shutdown_status_forgets_quietly() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    assert beat(tracker, X, 1.0, status=SHUTDOWN_STATUS) is None
    assert X not in tracker
    assert tracker.advance(100.0) == []
    assert beat(tracker, X, 101.0).kind is Kind.STARTED  # type: ignore[union-attr]


def test_shutdown_from_a_component_in_warning_is_a_heartbeat_and_its_death_still_comes() -> None:
    # #13: one request must not silence a death. A node already silent announces nothing.
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    [warning] = tracker.advance(10.0)
    assert warning.kind is Kind.WARNING
    restarted = beat(tracker, X, 12.0, status=SHUTDOWN_STATUS)
    assert restarted is not None
    assert restarted.kind is Kind.RESTARTED
    assert X in tracker
    assert [t.kind for t in tracker.advance(22.0)] == [Kind.WARNING]
    assert [t.kind for t in tracker.advance(42.0)] == [Kind.DEAD]


def test_shutdown_from_unknown_component_is_ignored() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    assert beat(tracker, X, 0.0, status=SHUTDOWN_STATUS) is None
    assert len(tracker) == 0


def test_late_delivered_older_heartbeat_does_not_move_time_back() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 10.0)
    beat(tracker, X, 5.0)
    assert tracker.view(X).last_heartbeat == 10.0  # type: ignore[union-attr]


def test_restore_gives_grace_from_takeover() -> None:
    z = "x0c0s0b0n2"
    source = Tracker(warntime=10, errtime=30)
    beat(source, X, 0.0)
    beat(source, Y, 0.0)
    source.advance(12.0)  # X and Y are in warning
    beat(source, z, 11.0)  # z is alive
    target = Tracker(warntime=10, errtime=30)
    target.restore(source.views(), now=100.0)
    assert target.view(X).state is HbState.WARNING  # type: ignore[union-attr]
    # Deadlines restart from the takeover: z warns at 100 + Warntime, not at once ...
    assert target.advance(109.9) == []
    assert kinds(target.advance(110.0)) == [(z, Kind.WARNING)]
    # ... the already-warned are not warned again, and all die at 100 + Errtime.
    assert target.advance(129.9) == []
    assert sorted(kinds(target.advance(130.0))) == [(X, Kind.DEAD), (Y, Kind.DEAD), (z, Kind.DEAD)]


def test_counts_and_views() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    beat(tracker, X, 0.0)
    beat(tracker, Y, 5.0)
    tracker.advance(10.0)
    assert tracker.counts() == {HbState.ALIVE: 1, HbState.WARNING: 1}
    assert {v.xname for v in tracker.views()} == {X, Y}


def test_transition_cannot_be_detected_before_due() -> None:
    with pytest.raises(ValueError, match="before it was due"):
        Transition(X, Kind.WARNING, at=1.0, due=2.0, sender_timestamp="", status="OK")


def test_table_has_one_entry_per_legal_move_and_no_others() -> None:
    reported = {kind for _, kind in TRANSITIONS.values() if kind is not None}
    assert reported == set(Kind)
    assert (HbState.ALIVE, Trigger.ERRTIME_PASSED) not in TRANSITIONS
    assert (None, Trigger.WARNTIME_PASSED) not in TRANSITIONS


def test_hundred_thousand_components() -> None:
    tracker = Tracker(warntime=10, errtime=30)
    names = [
        f"x{c}c{h}s{s}b0n{n}"
        for c in range(100)
        for h in range(8)
        for s in range(63)
        for n in range(2)
    ]
    names = names[:100_000]
    for i, name in enumerate(names):
        beat(tracker, name, i * 1e-5)  # all within one second
    assert len(tracker) == 100_000
    # Most keep beating; every tenth goes silent.
    for i, name in enumerate(names):
        if i % 10:
            beat(tracker, name, 5.0)
    warned = tracker.advance(11.0)
    assert len(warned) == 10_000
    assert all(t.kind is Kind.WARNING for t in warned)
    assert [t.due for t in warned] == sorted(t.due for t in warned)
    later = tracker.advance(31.0)
    by_kind = {kind: sum(1 for t in later if t.kind is kind) for kind in Kind}
    # The silent tenth die at 30 s; the rest, last heard at 5 s, warn at 15 s.
    assert by_kind == {Kind.STARTED: 0, Kind.RESTARTED: 0, Kind.WARNING: 90_000, Kind.DEAD: 10_000}
    assert len(tracker) == 90_000

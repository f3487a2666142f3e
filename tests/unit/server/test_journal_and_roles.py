"""The change journal and the replica's role, each on its own: plain calls, a manual clock.

The journal is the one record of what the store has not written; ``ReplicaState`` is the one
owner of leadership and says what each change of role does to detection, the HSM books and the
journal. The store's tests (``test_persistence.py``) drive both through real elections.
"""

from __future__ import annotations

from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Kind
from hbtd_server.engine import Duty
from hbtd_server.journal import ChangeJournal
from hbtd_server.store._replica_state import ReplicaState
from tests.unit.server.engine_support import beat

A, B, C = "x0c0s0b0n0", "x0c0s0b0n1", "x0c0s0b0n2"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_store_nothing_is_kept() -> None:
    journal = ChangeJournal()
    journal.record(A)
    journal.records([B])
    journal.hsm(C)
    assert journal.pending == 0
    assert journal.take() == (set(), set())


def test_records_and_hsm_entries_are_drained_together_and_counted_once() -> None:
    journal = ChangeJournal()
    journal.open()
    journal.keep_hsm(True)
    journal.record(A)
    journal.hsm(A)  # the same component's two keys: one pending component
    journal.hsm(B)
    assert journal.pending == 2
    assert journal.has_record(A)
    assert not journal.has_record(B)
    assert journal.take() == ({A}, {A, B})
    assert journal.pending == 0
    journal.put_back(records=[A], hsm=[B])  # a failed write
    assert journal.take() == ({A}, {B})


def test_hsm_entries_are_a_leaders_and_stopping_drops_them() -> None:
    journal = ChangeJournal()
    journal.open()
    journal.hsm(A)  # not leading yet
    journal.keep_hsm(True)
    journal.hsm_entries([B, C])
    journal.keep_hsm(False)
    journal.hsm(A)
    assert journal.take() == (set(), set())


def test_held_deletions_keep_only_tracked_components() -> None:
    journal = ChangeJournal()
    journal.open()
    journal.records([A, B])
    tracked = {A, C}.__contains__
    journal.hold_deletions(tracked)  # B's deletion, not written yet, is dropped
    journal.records([B, C])  # another death (B) is held back; C changed
    journal.record(B)  # the heartbeat path is never filtered
    assert journal.take()[0] == {A, B, C}
    journal.records([B])
    assert journal.take()[0] == set()
    journal.hold_deletions(None)
    journal.records([B])
    assert journal.take()[0] == {B}


def engine_and_state() -> tuple[Engine, ReplicaState]:
    engine = Engine(DEFAULT_PARAMS, clock=Clock())
    engine.journal.open()
    return engine, ReplicaState(engine)


def test_a_new_state_leads_and_following_stops_reporting() -> None:
    engine, state = engine_and_state()
    assert (state.leading, engine.duty, engine.store_health.role) == (True, Duty.LEAD, "leader")
    state.follow()
    assert (state.leading, state.detached) == (False, False)
    assert engine.duty is Duty.FOLLOW
    assert engine.store_health.role == "follower"
    beat(engine, A)  # tracked, written behind, but not reported: the leader does that
    assert engine.view(A) is not None
    assert engine.books.wanted(A) is None
    assert not engine.books.may_send(need_ready=False)


def test_detached_holds_results_and_deletions_then_losing_the_lead_drops_them() -> None:
    engine, state = engine_and_state()
    engine.journal.keep_hsm(True)
    beat(engine, A)
    engine.books.readiness(True)
    assert engine.books.may_send()
    state.detach()
    assert (state.leading, state.detached) == (False, True)
    assert engine.duty is Duty.HOLD
    assert engine.store_health.role == "detached"
    assert not engine.books.may_send()  # held, never sent
    assert engine.books.wanted(A) is Kind.STARTED  # the books are kept
    assert engine.journal.take() == ({A}, set())  # HSM entries are no longer journaled
    state.lose_lead()
    assert (state.leading, state.detached) == (False, False)
    assert engine.store_health.role == "follower"
    assert engine.books.wanted(A) is None  # dropped: the next leader judges again


def test_taking_the_lead_loads_the_books_and_asks_for_reconciliation() -> None:
    engine, state = engine_and_state()
    state.follow()
    engine.books.reconcile_health.begin(0.0)
    state.take_lead({A: (Kind.WARNING, Kind.STARTED)}, wishes=[(B, Kind.DEAD)])
    assert (state.leading, engine.duty, engine.store_health.role) == (True, Duty.LEAD, "leader")
    assert engine.books.wanted(A) is Kind.WARNING
    assert engine.books.export(A)[1] is Kind.STARTED
    assert engine.books.wanted(B) is Kind.DEAD
    assert engine.books.reconcile_health.asked
    assert engine.journal.take() == (set(), set())  # loaded, not changed: nothing to write
    state.resign()
    assert engine.duty is Duty.FOLLOW
    assert not state.leading

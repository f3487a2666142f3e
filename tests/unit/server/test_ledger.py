"""HsmLedger and HsmPatch: what HSM is told, in what batches, and what survives a failure.

Level-triggered latest-wins (upstream contract 9, §3.2) without upstream's defects: no ties
(8.5), and a failed kind never loses the states of another kind's success (8.6).
"""

from __future__ import annotations

import json

import httpx
import pytest

from hbtd_server.core import (
    DEFAULT_MAX_IDS_PER_PATCH,
    HsmLedger,
    HsmPatch,
    HsmView,
    Kind,
    RefusalBackoff,
    hsm_outcome,
)

A, B, C, D = "x0c0s0b0n0", "x0c0s0b0n1", "x0c0s0b0n2", "x0c0s0b0n3"
BACKOFF = RefusalBackoff(first=5, cap=60)


def summary(patches: list[HsmPatch]) -> list[tuple[Kind, tuple[str, ...]]]:
    return [(patch.kind, patch.xnames) for patch in patches]


def deliver_all(ledger: HsmLedger, *, delivered: bool = True) -> list[HsmPatch]:
    patches = ledger.take()
    for patch in patches:
        ledger.settle(patch, delivered=delivered)
    return patches


def acked(ledger: HsmLedger, xname: str) -> Kind | None:
    """The last state HSM acknowledged for ``xname``: the second half of what is persisted."""
    return ledger.export(xname)[1]


# -- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param(Kind.STARTED,
                     b'{"ComponentIDs":["x1c0s0b0n0","x1c0s0b0n1"],"State":"Ready","Flag":"OK",'
                     b'"ExtendedInfo":{"ID":"","Message":"Heartbeat started","Flag":""}}',
                     id="started"),
        pytest.param(Kind.RESTARTED,
                     b'{"ComponentIDs":["x1c0s0b0n0","x1c0s0b0n1"],"State":"Ready","Flag":"OK",'
                     b'"ExtendedInfo":{"ID":"","Message":"Heartbeat restarted","Flag":""}}',
                     id="restarted"),
        pytest.param(Kind.WARNING,
                     b'{"ComponentIDs":["x1c0s0b0n0","x1c0s0b0n1"],"State":"Ready",'
                     b'"Flag":"Warning","ExtendedInfo":{"ID":"",'
                     b'"Message":"Heartbeat stopped -- might be dead","Flag":""}}',
                     id="warning"),
        pytest.param(Kind.DEAD,
                     b'{"ComponentIDs":["x1c0s0b0n0","x1c0s0b0n1"],"State":"Standby",'
                     b'"Flag":"Alert","ExtendedInfo":{"ID":"",'
                     b'"Message":"Heartbeat stopped -- declared dead","Flag":""}}',
                     id="dead"),
    ],
)  # fmt: skip
def test_patch_body_is_upstreams_byte_for_byte(kind: Kind, expected: bytes) -> None:
    patch = HsmPatch(kind, ("x1c0s0b0n0", "x1c0s0b0n1"))
    assert json.dumps(patch.body(), separators=(",", ":")).encode() == expected
    # As the notifier sends it: httpx's json= encoding, with the JSON content type.
    request = httpx.Request("PATCH", "http://hsm/State/Components/BulkStateData", json=patch.body())
    assert request.content == expected
    assert request.headers["content-type"] == "application/json"


def test_patch_needs_components() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HsmPatch(Kind.STARTED, ())


@pytest.mark.parametrize(
    ("size", "halves"),
    [
        pytest.param(2, (1, 1), id="two"),
        pytest.param(5, (2, 3), id="odd"),
        pytest.param(4000, (2000, 2000), id="chunk"),
    ],
)
def test_split_halves_keep_kind_and_order(size: int, halves: tuple[int, int]) -> None:
    names = tuple(f"x0c0s0b0n{i}" for i in range(size))
    first, second = HsmPatch(Kind.WARNING, names).split()
    assert (len(first.xnames), len(second.xnames)) == halves
    assert first.xnames + second.xnames == names
    assert first.kind is second.kind is Kind.WARNING


def test_split_refuses_a_single_component() -> None:
    with pytest.raises(ValueError, match="single"):
        HsmPatch(Kind.DEAD, (A,)).split()


# -- batching ----------------------------------------------------------------------------------


def test_take_groups_by_kind_one_patch_each_in_kind_order() -> None:
    ledger = HsmLedger()
    ledger.want_all([(D, Kind.DEAD), (A, Kind.STARTED), (C, Kind.WARNING), (B, Kind.STARTED)])
    ledger.want("x0c0s0b0n4", Kind.RESTARTED)
    assert summary(ledger.take()) == [
        (Kind.STARTED, (A, B)),
        (Kind.RESTARTED, ("x0c0s0b0n4",)),
        (Kind.WARNING, (C,)),
        (Kind.DEAD, (D,)),
    ]
    assert not ledger.has_work()
    assert ledger.take() == []


@pytest.mark.parametrize(
    ("max_ids", "count", "sizes"),
    [
        pytest.param(2, 5, [2, 2, 1], id="remainder"),
        pytest.param(3, 6, [3, 3], id="exact"),
        pytest.param(1, 3, [1, 1, 1], id="one-each"),
        pytest.param(10, 3, [3], id="under"),
        pytest.param(DEFAULT_MAX_IDS_PER_PATCH, 12_000, [4000, 4000, 4000], id="machine-wave"),
    ],
)
def test_take_chunks_by_max_ids(max_ids: int, count: int, sizes: list[int]) -> None:
    ledger = HsmLedger(max_ids_per_patch=max_ids)
    names = [f"x1000c0s{i}b0n0" for i in range(count)]
    ledger.want_all((name, Kind.DEAD) for name in names)
    patches = ledger.take()
    assert [len(patch.xnames) for patch in patches] == sizes
    assert [name for patch in patches for name in patch.xnames] == names


def test_max_ids_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        HsmLedger(max_ids_per_patch=0)


# -- latest wins -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wishes", "sent"),
    [
        # TestHBMapping's four conflicts: the later event wins.
        pytest.param([Kind.STARTED, Kind.RESTARTED], Kind.RESTARTED, id="start-then-restart"),
        pytest.param([Kind.RESTARTED, Kind.WARNING], Kind.WARNING, id="restart-then-warn"),
        pytest.param([Kind.WARNING, Kind.DEAD], Kind.DEAD, id="warn-then-dead"),
        pytest.param([Kind.DEAD, Kind.STARTED], Kind.STARTED, id="dead-then-start"),
        pytest.param([Kind.STARTED, Kind.WARNING, Kind.RESTARTED, Kind.WARNING], Kind.WARNING,
                     id="flapping"),
    ],
)  # fmt: skip
def test_one_component_two_states_in_one_batch_latest_wins(wishes: list[Kind], sent: Kind) -> None:
    ledger = HsmLedger()
    for kind in wishes:
        ledger.want(A, kind)
    assert ledger.pending_count == 1
    assert summary(ledger.take()) == [(sent, (A,))]


def test_outage_collapses_to_the_final_state_per_component() -> None:
    # §3.2's example: C started, warned, restarted, warned; D started, warned, died; HSM down.
    ledger = HsmLedger()
    for event in [(C, Kind.STARTED), (D, Kind.STARTED)]:
        ledger.want(*event)
    deliver_all(ledger, delivered=False)
    for event in [(C, Kind.WARNING), (D, Kind.WARNING)]:
        ledger.want(*event)
    deliver_all(ledger, delivered=False)
    for event in [(C, Kind.RESTARTED), (C, Kind.WARNING), (D, Kind.DEAD)]:
        ledger.want(*event)
    patches = deliver_all(ledger)
    assert summary(patches) == [(Kind.WARNING, (C,)), (Kind.DEAD, (D,))]
    assert (acked(ledger, C), acked(ledger, D)) == (Kind.WARNING, Kind.DEAD)
    assert not ledger.has_work()
    assert ledger.pending_count == 0


# -- failures ----------------------------------------------------------------------------------


def test_failure_keeps_states_for_the_next_round() -> None:
    ledger = HsmLedger()
    ledger.want_all([(A, Kind.STARTED), (B, Kind.WARNING)])
    first = deliver_all(ledger, delivered=False)
    assert ledger.has_work()
    assert ledger.pending_count == 2
    assert acked(ledger, A) is None
    second = deliver_all(ledger)
    assert summary(second) == summary(first)
    assert (acked(ledger, A), acked(ledger, B)) == (Kind.STARTED, Kind.WARNING)


def test_newer_wish_replaces_a_failed_one() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take()
    ledger.want(A, Kind.WARNING)  # arrives while the STARTED patch is in flight
    assert ledger.wanted(A) is Kind.WARNING
    ledger.settle(patch, delivered=False)
    assert summary(ledger.take()) == [(Kind.WARNING, (A,))]


def test_newer_wish_survives_delivery_of_the_older_one() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take()
    ledger.want(A, Kind.WARNING)
    ledger.settle(patch, delivered=True)
    assert acked(ledger, A) is Kind.STARTED
    assert summary(ledger.take()) == [(Kind.WARNING, (A,))]


def test_a_retry_leaves_out_components_a_newer_wish_replaced() -> None:
    # An in-request retry of a Warning patch must not show HSM a Warning for a node already
    # due Alert (flap-during-hsm-outage): narrow() keeps only what is still wanted.
    ledger = HsmLedger()
    for xname in (A, B, C):
        ledger.want(xname, Kind.WARNING)
    [patch] = ledger.take()
    ledger.want(B, Kind.DEAD)  # while the first attempt failed
    ledger.want(C, Kind.WARNING)  # the same wish again: still worth sending
    narrowed = ledger.narrow(patch)
    assert narrowed is not None
    assert summary([narrowed]) == [(Kind.WARNING, (A, C))]
    ledger.settle(narrowed, delivered=True)
    assert acked(ledger, A) is Kind.WARNING
    assert summary(ledger.take()) == [(Kind.DEAD, (B,))]


def test_narrow_returns_the_patch_itself_or_none() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.WARNING)
    [patch] = ledger.take()
    assert ledger.narrow(patch) is patch
    ledger.want(A, Kind.RESTARTED)
    assert ledger.narrow(patch) is None
    assert summary(ledger.take()) == [(Kind.RESTARTED, (A,))]


def test_same_wish_while_in_flight_is_not_resent_after_delivery() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take()
    ledger.want(A, Kind.STARTED)
    ledger.settle(patch, delivered=True)
    assert not ledger.has_work()
    assert ledger.pending_count == 0


def test_same_wish_while_in_flight_is_resent_after_failure() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.DEAD)
    [patch] = ledger.take()
    ledger.want(A, Kind.DEAD)
    ledger.settle(patch, delivered=False)
    assert summary(ledger.take()) == [(Kind.DEAD, (A,))]


def test_partial_failure_never_loses_another_kinds_states() -> None:
    # Upstream bug 8.6: C had start then warn; the warn PATCH failed while the start PATCH
    # (for other components) succeeded, and C's warning was erased. Here it must survive.
    ledger = HsmLedger()
    ledger.want_all([(A, Kind.STARTED), (C, Kind.STARTED)])
    deliver_all(ledger)
    ledger.want_all([(B, Kind.STARTED), (C, Kind.WARNING), (D, Kind.WARNING)])
    patches = {patch.kind: patch for patch in ledger.take()}
    assert set(patches) == {Kind.STARTED, Kind.WARNING}
    ledger.settle(patches[Kind.STARTED], delivered=True)
    ledger.settle(patches[Kind.WARNING], delivered=False)
    assert acked(ledger, B) is Kind.STARTED
    assert (ledger.wanted(C), ledger.wanted(D)) == (Kind.WARNING, Kind.WARNING)
    assert summary(ledger.take()) == [(Kind.WARNING, (C, D))]


def test_settling_split_halves_independently() -> None:
    ledger = HsmLedger()
    ledger.want_all([(A, Kind.STARTED), (B, Kind.STARTED), (C, Kind.STARTED), (D, Kind.STARTED)])
    [patch] = ledger.take()
    first, second = patch.split()
    ledger.settle(first, delivered=True)
    ledger.settle(second, delivered=False)
    assert (acked(ledger, A), acked(ledger, B), acked(ledger, C)) == (Kind.STARTED,) * 2 + (None,)
    assert summary(ledger.take()) == [(Kind.STARTED, (C, D))]


def test_a_refused_state_stays_wanted_and_is_held_until_its_retry_time() -> None:
    # #13: a 4xx no longer drops a state; it waits on its own backoff.
    ledger = HsmLedger()
    ledger.want_all([(A, Kind.STARTED), (B, Kind.STARTED)])
    [patch] = ledger.take(now=0)
    refused, accepted = patch.split()
    ledger.refuse(refused, now=10, backoff=BACKOFF)
    ledger.settle(accepted, delivered=True)
    assert ledger.wanted(A) is Kind.STARTED
    assert ledger.export(A) == (Kind.STARTED, None)  # persisted like any pending change
    assert (ledger.refused_count, ledger.refused_since(), ledger.pending_count) == (1, 10, 1)
    assert ledger.outstanding == 1
    assert not ledger.has_work(now=14.9)
    assert ledger.take(now=14.9) == []
    assert ledger.next_retry() == 15
    assert ledger.has_work(now=15)
    assert summary(ledger.take(now=15)) == [(Kind.STARTED, (A,))]


def test_refusals_back_off_doubling_up_to_the_cap_and_clear_on_delivery() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.DEAD)
    now, waits = 0.0, []
    for _ in range(6):
        [patch] = ledger.take(now=now)
        ledger.refuse(patch, now=now, backoff=BACKOFF)
        retry = ledger.next_retry()
        assert retry is not None
        waits.append(retry - now)
        now = retry
    assert waits == [5, 10, 20, 40, 60, 60]
    assert ledger.refused_since() == 0  # since the first refusal
    [patch] = ledger.take(now=now)
    ledger.settle(patch, delivered=True)
    assert (ledger.refused_count, ledger.refused_since(), ledger.pending_count) == (0, None, 0)
    assert acked(ledger, A) is Kind.DEAD


def test_not_before_holds_a_refused_state_longer() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take(now=0)
    ledger.refuse(patch, now=0, backoff=BACKOFF, not_before=30)
    assert ledger.next_retry() == 30


def test_only_a_newer_wish_replaces_a_refused_state() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.WARNING)
    [patch] = ledger.take(now=0)
    ledger.refuse(patch, now=0, backoff=BACKOFF)
    ledger.want(A, Kind.WARNING)  # the same state again: it keeps waiting on its backoff
    assert not ledger.has_work(now=1)
    ledger.want(A, Kind.DEAD)  # a newer state goes at once
    assert ledger.refused_count == 0
    assert summary(ledger.take(now=1)) == [(Kind.DEAD, (A,))]


def test_a_wish_made_while_in_flight_goes_next_even_if_the_old_one_is_refused() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take(now=0)
    ledger.want(A, Kind.WARNING)
    ledger.refuse(patch, now=0, backoff=BACKOFF)
    assert summary(ledger.take(now=0)) == [(Kind.WARNING, (A,))]
    assert ledger.refused_count == 0


def test_settling_twice_or_unknown_components_is_harmless() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take()
    ledger.settle(patch, delivered=True)
    ledger.settle(patch, delivered=False)  # already settled: nothing comes back
    ledger.refuse(HsmPatch(Kind.DEAD, (B,)), now=0, backoff=BACKOFF)
    assert not ledger.has_work(now=100)
    assert ledger.refused_count == 0
    assert acked(ledger, A) is Kind.STARTED


# -- acknowledged states are not resent --------------------------------------------------------


@pytest.mark.parametrize(
    ("acked", "wishes", "sent"),
    [
        pytest.param(Kind.WARNING, [Kind.WARNING], [], id="same-again"),
        pytest.param(Kind.DEAD, [Kind.DEAD], [], id="dead-again"),
        # An edge is sent whatever HSM is believed to show: another writer may have changed it.
        pytest.param(Kind.STARTED, [Kind.STARTED], [(Kind.STARTED, (A,))], id="started-again"),
        pytest.param(Kind.RESTARTED, [Kind.RESTARTED], [(Kind.RESTARTED, (A,))],
                     id="restarted-again"),
        pytest.param(Kind.WARNING, [Kind.DEAD, Kind.WARNING], [], id="back-to-acked"),
        pytest.param(Kind.STARTED, [Kind.RESTARTED], [(Kind.RESTARTED, (A,))],
                     id="restarted-differs-from-started"),
        pytest.param(Kind.DEAD, [Kind.STARTED], [(Kind.STARTED, (A,))], id="started-after-dead"),
    ],
)  # fmt: skip
def test_acked_equal_levels_are_not_resent_but_edges_are(
    acked: Kind, wishes: list[Kind], sent: list[tuple[Kind, tuple[str, ...]]]
) -> None:
    ledger = HsmLedger()
    ledger.want(A, acked)
    deliver_all(ledger)
    for kind in wishes:
        ledger.want(A, kind)
    assert summary(ledger.take()) == sent
    assert ledger.has_work() is False


def test_pending_count_includes_in_flight_once() -> None:
    ledger = HsmLedger()
    ledger.want_all([(A, Kind.STARTED), (B, Kind.STARTED)])
    ledger.take()
    assert ledger.pending_count == 2
    assert not ledger.has_work()
    ledger.want(A, Kind.WARNING)  # A now both in flight and pending: still one component
    assert ledger.pending_count == 2
    assert ledger.has_work()


# -- export, restore and observation, for the persistent store (#7) ---------------------------


def test_export_and_restore_carry_wanted_and_acknowledged_states() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    deliver_all(ledger)
    ledger.want(A, Kind.WARNING)
    ledger.want(B, Kind.DEAD)
    [patch] = [p for p in ledger.take() if p.kind is Kind.DEAD]  # B in flight
    assert ledger.export(A) == (Kind.WARNING, Kind.STARTED)
    assert ledger.export(B) == (Kind.DEAD, None)
    assert set(ledger.exported()) == {A, B}
    saved = {x: ledger.export(x) for x in ledger.exported()}
    ledger.settle(patch, delivered=True)

    after_restart = HsmLedger()
    after_restart.restore(saved)
    assert acked(after_restart, A) is Kind.STARTED
    assert summary(after_restart.take()) == [(Kind.WARNING, (A,)), (Kind.DEAD, (B,))]


def test_restoring_an_acknowledged_state_sends_nothing() -> None:
    ledger = HsmLedger()
    ledger.restore({A: (None, Kind.DEAD), B: (Kind.STARTED, Kind.STARTED)})
    assert not ledger.has_work()
    assert acked(ledger, A) is Kind.DEAD


def test_every_change_is_observed() -> None:
    ledger = HsmLedger()
    changed: list[str] = []
    ledger.on_change = changed.append
    ledger.want(A, Kind.STARTED)
    ledger.want(B, Kind.STARTED)
    ledger.want(C, Kind.STARTED)
    [patch] = ledger.take()
    ledger.settle(HsmPatch(Kind.STARTED, (A,)), delivered=True)
    ledger.settle(HsmPatch(Kind.STARTED, (B,)), delivered=False)  # nothing changed for B
    ledger.refuse(HsmPatch(Kind.STARTED, (C,)), now=0, backoff=BACKOFF)
    assert changed == [A, B, C, A]  # a refusal changes neither the wanted nor the acked state
    assert ledger.export(C) == (Kind.STARTED, None)
    assert patch.xnames == (A, B, C)


# -- HSM is not ours alone ---------------------------------------------------------------------


def test_reboot_started_is_sent_although_ready_ok_was_acknowledged() -> None:
    # The reboot: Ready/OK acknowledged, Shutdown, power Off then On by HSM, beats again.
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    deliver_all(ledger)
    ledger.forget(A)  # the Shutdown
    assert acked(ledger, A) is None
    ledger.want(A, Kind.STARTED)
    assert summary(ledger.take()) == [(Kind.STARTED, (A,))]


def test_an_edge_is_sent_even_without_a_forget() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    deliver_all(ledger)
    ledger.want(A, Kind.STARTED)
    assert summary(deliver_all(ledger)) == [(Kind.STARTED, (A,))]


def test_latest_wins_after_an_outage_still_one_state_per_node() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    deliver_all(ledger)
    for kind in (Kind.WARNING, Kind.RESTARTED, Kind.WARNING, Kind.RESTARTED):
        ledger.want(A, kind)
    assert ledger.pending_count == 1
    assert summary(ledger.take()) == [(Kind.RESTARTED, (A,))]


def test_forget_keeps_an_undelivered_wish_and_is_observed() -> None:
    ledger = HsmLedger()
    changed: list[str] = []
    ledger.want(A, Kind.STARTED)
    deliver_all(ledger)
    ledger.want(A, Kind.WARNING)
    ledger.on_change = changed.append
    ledger.forget(A)
    ledger.forget(B)  # unknown: nothing to forget, nothing observed
    assert changed == [A]
    assert ledger.export(A) == (Kind.WARNING, None)


def test_restoring_an_acknowledged_edge_sends_nothing() -> None:
    ledger = HsmLedger()
    ledger.restore({A: (Kind.RESTARTED, Kind.RESTARTED)})
    assert not ledger.has_work()


def test_a_204_for_a_change_hsm_skips_is_no_acknowledgement() -> None:
    ledger = HsmLedger()
    ledger.reconcile({A: HsmView("On", "OK")}, {})  # HSM has it On (a power event)
    ledger.want(A, Kind.DEAD)  # Standby only from Standby or Ready: HSM skips it
    deliver_all(ledger)
    assert acked(ledger, A) is None
    assert ledger.picture(A) == HsmView("On", "OK")
    assert ledger.skipped_total == 1
    assert not ledger.has_work()  # not resent: HSM would skip it again


def test_a_204_hsm_applies_moves_the_picture_and_keeps_a_locked_flag() -> None:
    ledger = HsmLedger()
    ledger.reconcile({A: HsmView("Ready", "Locked")}, {})
    ledger.want(A, Kind.DEAD)
    deliver_all(ledger)
    assert ledger.picture(A) == HsmView("Standby", "Locked")
    assert ledger.skipped_total == 0


def test_reconcile_sets_the_picture_and_wants_what_differs() -> None:
    ledger = HsmLedger()
    for x in (A, B, C, D):
        ledger.want(x, Kind.STARTED)
    deliver_all(ledger)
    read = {
        A: HsmView("Standby", "Alert"),  # an operator: hbtd owns a beating node's Ready
        B: HsmView("Ready", "OK"),  # as believed
        C: HsmView("Off", "OK"),  # a dead node another writer powered off: left alone
        D: None,  # HSM does not know it: never created
    }
    levels = {A: Kind.STARTED, B: Kind.STARTED, C: Kind.DEAD, D: Kind.STARTED}
    assert ledger.reconcile(read, levels) == [(A, Kind.RESTARTED)]
    assert ledger.picture(C) == HsmView("Off", "OK")
    assert ledger.picture(D) is None
    assert summary(deliver_all(ledger)) == [(Kind.RESTARTED, (A,))]
    assert ledger.picture(A) == HsmView("Ready", "OK")


def test_reconcile_skips_components_with_a_change_on_its_way() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.STARTED)
    [patch] = ledger.take()  # in flight: HSM's answer may postdate the read
    assert ledger.reconcile({A: HsmView("On", "OK")}, {A: Kind.STARTED}) == []
    ledger.settle(patch, delivered=True)
    assert ledger.picture(A) == HsmView("Ready", "OK")


def test_reconciliation_never_fights_another_writer_over_several_rounds() -> None:
    # The other writer keeps a dead node Off and another Halt, and sets a node in warning
    # Standby, every round. hbtd asserts nothing over them, round after round.
    ledger = HsmLedger()
    ledger.want(A, Kind.DEAD)
    ledger.want(B, Kind.DEAD)
    ledger.want(C, Kind.WARNING)
    deliver_all(ledger)
    levels = {A: Kind.DEAD, B: Kind.DEAD, C: Kind.WARNING}
    for _ in range(5):
        read = {A: HsmView("Off", "OK"), B: HsmView("Halt", "OK"), C: HsmView("Standby", "OK")}
        assert ledger.reconcile(read, levels) == []
        assert ledger.take() == []


def test_a_correction_applied_is_not_repeated_in_the_next_rounds() -> None:
    ledger = HsmLedger()
    levels = {A: Kind.STARTED, B: Kind.DEAD}
    shown = {A: HsmView("Standby", "Alert"), B: HsmView("Ready", "OK")}
    rounds = []
    for _ in range(4):
        rounds.append(ledger.reconcile(dict(shown), levels))
        for patch in deliver_all(ledger):
            for x in patch.xnames:  # HSM applies it
                after = hsm_outcome(shown[x], patch.kind)
                assert after is not None
                shown[x] = after
    assert rounds == [[(A, Kind.RESTARTED), (B, Kind.DEAD)], [], [], []]


def test_a_skipped_change_is_corrected_by_the_next_round() -> None:
    ledger = HsmLedger()
    ledger.reconcile({A: HsmView("Populated", "OK")}, {})
    ledger.want(A, Kind.STARTED)  # HSM skips Ready from Populated
    deliver_all(ledger)
    assert ledger.skipped_total == 1
    # Discovery powers it On meanwhile: the next round reads On and asserts Ready/OK.
    assert ledger.reconcile({A: HsmView("On", "OK")}, {A: Kind.STARTED}) == [(A, Kind.RESTARTED)]


def test_dead_levels_are_remembered_until_a_new_wish_or_a_forget() -> None:
    ledger = HsmLedger()
    ledger.want(A, Kind.DEAD)
    ledger.want(B, Kind.DEAD)
    ledger.want(C, Kind.DEAD)
    deliver_all(ledger)
    ledger.want(B, Kind.STARTED)
    ledger.forget(C)
    assert ledger.dead() == {A}
    restored = HsmLedger()
    restored.restore({A: (None, Kind.DEAD)})
    assert restored.dead() == {A}

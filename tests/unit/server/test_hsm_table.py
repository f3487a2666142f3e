"""HSM's start-state table in the core, and what reconciliation asserts over it.

The mock HSM (hb_sim) carries its own copy of HSM's table; these tests check the two agree on
every State and Flag, so a 204 is judged as HSM would apply it.
"""

from __future__ import annotations

import itertools

import pytest

from hb_sim.hsm import MockHsm
from hbtd_server.core import (
    HSM_START_STATES,
    HsmView,
    Kind,
    asserted_change,
    hsm_outcome,
    view_of,
)

STATES = ("Unknown", "Empty", "Populated", "Off", "On", "Standby", "Halt", "Ready")
FLAGS = ("OK", "Warning", "Alert", "Locked")
X = "x1000c0s0b0n0"


@pytest.mark.parametrize(
    ("state", "flag", "kind"), list(itertools.product(STATES, FLAGS, list(Kind)))
)
def test_outcome_matches_the_mock_hsm_which_follows_hsm(state: str, flag: str, kind: Kind) -> None:
    hsm = MockHsm(nodes=[X], node_state=state)
    hsm.set_state([X], state, flag, force=True, now=0.0)  # any start, Locked included
    start = HsmView(hsm.component(X).state, hsm.component(X).flag)
    target = kind.hsm
    hsm.set_state([X], target.state, target.flag, now=1.0)
    after = HsmView(hsm.component(X).state, hsm.component(X).flag)
    outcome = hsm_outcome(start, kind)
    if outcome is None:
        assert after == start  # skipped: HSM changed nothing
        assert after != view_of(kind)
    else:
        assert outcome == after


def test_the_table_is_hsms() -> None:
    assert HSM_START_STATES["Standby"] == {"Standby", "Ready"}
    assert HSM_START_STATES["Ready"] == {"Ready", "On", "Off", "Standby", "Halt"}
    assert not HSM_START_STATES["Empty"]


@pytest.mark.parametrize(
    ("level", "shown", "sent"),
    [
        # A beating node is Ready/OK from any powered state.
        (Kind.STARTED, HsmView("Ready", "OK"), None),
        (Kind.STARTED, HsmView("Ready", "Locked"), None),
        (Kind.STARTED, HsmView("Standby", "Alert"), Kind.RESTARTED),
        (Kind.STARTED, HsmView("On", "OK"), Kind.RESTARTED),
        (Kind.STARTED, HsmView("Off", "OK"), Kind.RESTARTED),
        (Kind.RESTARTED, HsmView("Halt", "OK"), Kind.RESTARTED),
        (Kind.STARTED, HsmView("Ready", "Warning"), Kind.RESTARTED),
        (Kind.STARTED, HsmView("Populated", "OK"), None),  # HSM would skip it
        (Kind.STARTED, HsmView("Empty", "OK"), None),
        # A node in warning: Ready/Warning only over Ready.
        (Kind.WARNING, HsmView("Ready", "OK"), Kind.WARNING),
        (Kind.WARNING, HsmView("Ready", "Warning"), None),
        (Kind.WARNING, HsmView("Standby", "Alert"), None),
        (Kind.WARNING, HsmView("Off", "OK"), None),
        # A dead node: Standby/Alert only over Ready; Off, On, Halt are someone else's.
        (Kind.DEAD, HsmView("Ready", "OK"), Kind.DEAD),
        (Kind.DEAD, HsmView("Ready", "Warning"), Kind.DEAD),
        (Kind.DEAD, HsmView("Standby", "Alert"), None),
        (Kind.DEAD, HsmView("Standby", "OK"), None),
        (Kind.DEAD, HsmView("Off", "OK"), None),
        (Kind.DEAD, HsmView("On", "OK"), None),
        (Kind.DEAD, HsmView("Halt", "OK"), None),
    ],
)
def test_what_reconciliation_asserts(level: Kind, shown: HsmView, sent: Kind | None) -> None:
    assert asserted_change(level, shown) is sent


@pytest.mark.parametrize(
    ("state", "flag", "level"), list(itertools.product(STATES, FLAGS, list(Kind)))
)
def test_an_assertion_once_applied_is_never_asserted_again(
    state: str, flag: str, level: Kind
) -> None:
    # No loop with HSM itself: whatever hbtd asserts, HSM applies, and then it shows it.
    sent = asserted_change(level, HsmView(state, flag))
    if sent is None:
        return
    after = hsm_outcome(HsmView(state, flag), sent)
    assert after is not None
    assert asserted_change(level, after) is None

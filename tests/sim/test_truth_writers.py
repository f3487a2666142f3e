"""The truth with HSM's other writers and the tracker's Shutdown rule: explicit times only."""

from __future__ import annotations

from hb_sim.run import ParamEpoch, Truth

NODES = ["x1000c0s0b0n0", "x1000c0s0b0n1"]
A, B = NODES


def truth(reconcile: float = 4.0) -> Truth:
    return Truth(NODES, ("On", "OK"), (ParamEpoch(0.0, 10.0, 20.0),), reconcile=reconcile)


def shown(t: Truth, xname: str = A) -> list[tuple[float, str, str, str, float]]:
    return [(c.time, c.state, c.flag, c.cause, c.within) for c in t.history(xname)]


def told(t: Truth, xname: str = A) -> list[tuple[float, str, str, str]]:
    return [(c.time, c.state, c.flag, c.cause) for c in t.told(xname)]


def test_a_shutdown_from_a_node_in_warning_is_a_heartbeat_and_its_alert_still_comes() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.shutdown(0, 12.0)  # in warning since 10 s
    t.close(40.0)
    assert [(c.time, c.cause) for c in t.history(A)] == [
        (0.0, "initial"),
        (0.0, "started"),
        (10.0, "warning"),
        (12.0, "restarted"),
        (22.0, "warning"),
        (32.0, "dead"),
    ]


def test_a_shutdown_at_exactly_warntime_comes_after_the_warning() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.shutdown(0, 10.0)  # the deadline fires first, as in hbtd
    t.close(15.0)
    assert [c.cause for c in t.history(A)] == ["initial", "started", "warning", "restarted"]


def test_a_shutdown_from_a_live_node_forgets_it_and_from_a_dead_one_changes_nothing() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.shutdown(0, 5.0)
    t.delivered(1, 0.0)
    t.shutdown(1, 25.0)  # dead since 20 s: the tracker dropped it already
    t.close(60.0)
    assert [c.cause for c in t.history(A)] == ["initial", "started"]
    assert [c.cause for c in t.history(B)] == ["initial", "started", "warning", "dead"]


def test_the_reboot_wave_power_cycle_then_a_started_edge() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.delivered(0, 3.0)
    t.shutdown(0, 5.0)
    t.written(0, 6.0, "Off", "OK")
    t.written(0, 8.0, "On", "OK")
    t.delivered(0, 30.0)
    t.close(31.0)
    assert shown(t) == [
        (0.0, "On", "OK", "initial", 0.0),
        (0.0, "Ready", "OK", "started", 0.0),
        (6.0, "Off", "OK", "written", 0.0),
        (8.0, "On", "OK", "written", 0.0),
        (30.0, "Ready", "OK", "started", 0.0),  # forgotten meanwhile: no level
    ]


def test_an_operator_standby_on_a_live_node_is_undone_within_the_reconcile_interval() -> None:
    t = truth(reconcile=4.0)
    for now in range(0, 30, 3):
        t.delivered(0, float(now))
    t.written(0, 10.0, "Standby", "Alert")
    t.close(30.0)
    assert shown(t)[2:] == [
        (10.0, "Standby", "Alert", "written", 0.0),
        (10.0, "Ready", "OK", "level", 4.0),
    ]
    assert t.at(A, 11.0).cause == "level"


def test_no_reconciliation_leaves_another_writers_state() -> None:
    t = truth(reconcile=0.0)
    for now in range(0, 30, 3):
        t.delivered(0, float(now))
    t.written(0, 10.0, "Standby", "Alert")
    t.close(30.0)
    assert shown(t)[-1][:4] == (10.0, "Standby", "Alert", "written")


def test_a_dead_node_powered_off_stays_off_and_a_skipped_edge_is_told_once() -> None:
    t = truth()
    t.delivered(0, 0.0)
    t.written(0, 15.0, "Off", "OK")  # after the warning, before the death
    t.close(60.0)
    assert shown(t)[-1][:4] == (15.0, "Off", "OK", "written")
    assert told(t)[-2:] == [(20.0, "Standby", "Alert", "dead"), (20.0, "Off", "OK", "kept")]


def test_a_restore_brings_old_states_back_and_the_tracker_reasserts_what_it_owns() -> None:
    t = truth()
    t.delivered(0, 0.0)  # dies: warning 10 s, dead 20 s
    t.delivered(1, 0.0)
    t.delivered(1, 15.0)  # B: warning 10 s, restarted 15 s, then silent: warning 25 s
    t.restored(0, 21.0, "Ready", "OK")
    t.restored(1, 21.0, "On", "OK")  # a copy from before B's first heartbeat
    t.close(40.0)
    assert shown(t, A)[-2:] == [
        (21.0, "Ready", "OK", "written", 0.0),
        (21.0, "Standby", "Alert", "level", 4.0),
    ]
    # B beats: Ready/OK is asserted over On; then its own warning and death are edges.
    assert [(c.time, c.cause) for c in t.history(B)][-4:] == [
        (21.0, "written"),
        (21.0, "level"),
        (25.0, "warning"),
        (35.0, "dead"),
    ]


def test_locked_and_forced_writes_follow_hsm() -> None:
    t = truth()
    for now in range(0, 30, 3):
        t.delivered(0, float(now))
    t.written(0, 10.0, "Halt", "OK")  # allowed from Ready
    t.written(0, 20.0, "Empty", "OK", force=True)
    t.close(30.0)
    causes = [(c.time, c.state, c.cause) for c in t.history(A)][2:]
    assert causes == [
        (10.0, "Halt", "written"),
        (10.0, "Ready", "level"),
        (20.0, "Empty", "written"),  # Ready/OK is not allowed from Empty: left alone
    ]

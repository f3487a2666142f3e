"""The mock HSM's rules, called directly: no trio, no HTTP (docs/mock-hsm.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hb_sim.errors import HsmProblem
from hb_sim.hsm import (
    START_STATES,
    STATES,
    Component,
    Faults,
    MockHsm,
    allowed_start_states,
    needs_force,
)

NODE = "x1000c0s0b0n0"
OTHER = "x1000c0s0b0n1"


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def states(hsm: MockHsm) -> dict[str, tuple[str, str]]:
    return {xname: (c.state, c.flag) for xname, c in hsm.components.items()}


def with_state(state: str, flag: str = "OK") -> MockHsm:
    return MockHsm(nodes=[NODE], node_state=state, node_flag=flag)


# -- the start-state table ---------------------------------------------------------------


def test_table_covers_every_state() -> None:
    assert set(START_STATES) == set(STATES)
    assert {s for s in STATES if needs_force(s)} == {"Unknown", "Empty", "Populated"}


@pytest.mark.parametrize("target", STATES)
@pytest.mark.parametrize("current", STATES)
def test_unforced_update_follows_the_table(current: str, target: str) -> None:
    hsm = with_state(current)
    if needs_force(target):
        with pytest.raises(HsmProblem) as caught:
            hsm.set_state([NODE], target, now=0.0)
        assert (caught.value.status, caught.value.detail) == (
            400,
            "operation not allowed and not forced.",
        )
        assert hsm.components[NODE].state == current
        return
    change = hsm.set_state([NODE], target, "Alert", now=0.0)
    if current in START_STATES[target]:
        assert hsm.components[NODE].state == target
        assert change is not None
        assert change.ids == (NODE,)
    else:
        assert hsm.components[NODE].state == current  # silently skipped
        assert change is None


@pytest.mark.parametrize("current", STATES)
def test_force_allows_any_start_and_any_target(current: str) -> None:
    hsm = with_state(current)
    hsm.set_state([NODE], "Empty", force=True, now=0.0)
    assert hsm.components[NODE].state == "Empty"
    assert allowed_start_states("On", "OK", force=True) is None


@pytest.mark.parametrize("current", [s for s in STATES if s != "Ready"])
@pytest.mark.parametrize("force", [False, True])
def test_ready_warning_only_from_ready_even_forced(current: str, force: bool) -> None:
    hsm = with_state(current)
    assert hsm.set_state([NODE], "Ready", "Warning", force=force, now=0.0) is None
    assert hsm.components[NODE].state == current


def test_ready_warning_from_ready() -> None:
    hsm = with_state("Ready")
    change = hsm.set_state([NODE], "ready", "warn", now=5.0)
    assert states(hsm)[NODE] == ("Ready", "Warning")
    assert change is not None
    assert (change.time, change.ids, change.state, change.flag) == (
        5.0,
        (NODE,),
        "Ready",
        "Warning",
    )


def test_locked_flag_is_sticky() -> None:
    hsm = with_state("Ready", "Locked")
    change = hsm.set_state([NODE], "Standby", "Alert", now=0.0)
    assert states(hsm)[NODE] == ("Standby", "Locked")
    assert change is not None
    assert change.ids == (NODE,)


def test_no_change_short_circuit() -> None:
    hsm = with_state("Ready")
    assert hsm.set_state([NODE], "Ready", "OK", now=0.0) is None
    assert hsm.changes() == []


def test_flag_defaults_to_ok_and_unknown_flag_means_ok() -> None:
    hsm = MockHsm(nodes=[NODE, OTHER], node_state="Ready", node_flag="Warning")
    hsm.set_state([NODE], "Ready", now=0.0)
    change = hsm.set_state([OTHER], "Ready", "Bogus", now=0.0)
    assert states(hsm) == {NODE: ("Ready", "OK"), OTHER: ("Ready", "OK")}
    assert change is not None
    assert change.flag == ""


def test_only_changed_rows_are_reported() -> None:
    hsm = MockHsm(nodes=[NODE, OTHER], node_state="On")
    hsm.set_state([OTHER], "Off", now=0.0)  # Off -> Standby is not allowed
    hsm.set_state([OTHER], "Ready", now=0.0)
    hsm.set_state([OTHER], "Off", now=0.0)
    change = hsm.set_state([NODE, OTHER, "x1000c0s7b0n0"], "Standby", "Alert", now=1.0)
    assert change is None  # On and Off may not go to Standby; the third is unknown
    change = hsm.set_state([NODE, OTHER], "Ready", now=2.0)
    assert change is not None
    assert change.ids == (NODE, OTHER)


def test_ids_are_normalized_and_deduplicated() -> None:
    hsm = with_state("On")
    change = hsm.set_state([" X1000C0S0B0N0 ", "x01000c0s00b0n0", NODE], "Ready", now=0.0)
    assert change is not None
    assert change.ids == (NODE,)


def test_unknown_ids_are_skipped_silently() -> None:
    hsm = MockHsm()
    assert hsm.set_state([NODE], "Ready", now=0.0) is None
    assert hsm.components == {}


def test_auto_create_makes_unknown_ids_on_nodes() -> None:
    hsm = MockHsm(auto_create=True)
    change = hsm.set_state([NODE], "Ready", now=0.0)
    assert change is not None
    component = hsm.components[NODE]
    assert (component.type, component.state, component.role) == ("Node", "Ready", "Compute")
    hsm.set_state([OTHER], "Standby", "Alert", now=0.0)  # On -> Standby not allowed
    assert states(hsm)[OTHER] == ("On", "OK")


# -- validation, in HSM's order ----------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "status", "detail"),
    [
        ({"State": "Ready"}, 400, "Missing IDs"),
        ({"ComponentIDs": [], "State": "Ready"}, 400, "Missing IDs"),
        ({"ComponentIDs": None, "State": "Ready"}, 400, "Missing IDs"),
        ({"ComponentIDs": [NODE, "ncnw001"], "State": "Ready"}, 400, "invalid xname ID"),
        ({"ComponentIDs": ["x0c8s0b0n0"]}, 400, "invalid xname ID"),  # before Missing State
        ({"ComponentIDs": [NODE]}, 400, "Missing State"),
        ({"ComponentIDs": [NODE], "State": ""}, 400, "Missing State"),
        ({"ComponentIDs": [NODE], "State": "Bogus"}, 400, "Argument was not a valid HMS State"),
        ({"ComponentIDs": [NODE], "State": "Empty"}, 400, "operation not allowed and not forced."),
        (None, 400, "Missing IDs"),
    ],
)
def test_bulk_rejections(payload: Any, status: int, detail: str) -> None:
    hsm = MockHsm(nodes=[NODE])
    before = states(hsm)
    with pytest.raises(HsmProblem) as caught:
        hsm.patch_bulk_state_data(body(payload), now=0.0)
    assert (caught.value.status, caught.value.detail) == (status, detail)
    assert caught.value.to_json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "detail": detail,
        "status": 400,
    }
    assert states(hsm) == before


def test_one_bad_id_rejects_the_whole_batch() -> None:
    hsm = MockHsm(nodes=[NODE, OTHER])
    with pytest.raises(HsmProblem, match="invalid xname ID"):
        hsm.patch_bulk_state_data(
            body({"ComponentIDs": [NODE, "ncnw001", OTHER], "State": "Ready"}), now=0.0
        )
    assert states(hsm) == {NODE: ("On", "OK"), OTHER: ("On", "OK")}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{bad json",
        b"[1, 2]",
        b'{"ComponentIDs": "x1000c0s0b0n0", "State": "Ready"}',
        b'{"ComponentIDs": [1], "State": "Ready"}',
        b'{"ComponentIDs": ["x1000c0s0b0n0"], "State": 3}',
        b'{"ComponentIDs": ["x1000c0s0b0n0"], "State": "Ready", "Force": "yes"}',
        b'{"ComponentIDs": ["x1000c0s0b0n0"], "State": "Ready", "NID": 1.5}',
        b'{"ComponentIDs": ["x1000c0s0b0n0"], "State": "Ready", "Flag": NaN}',
    ],
)
def test_undecodable_json_is_a_500(raw: bytes) -> None:
    hsm = MockHsm(nodes=[NODE])
    with pytest.raises(HsmProblem) as caught:
        hsm.patch_bulk_state_data(raw, now=0.0)
    assert caught.value.status == 500
    assert caught.value.detail.startswith("error decoding JSON ")
    assert caught.value.to_json()["title"] == "Internal Server Error"


def test_keys_and_values_are_case_insensitive() -> None:
    hsm = MockHsm(nodes=[NODE])
    hsm.patch_bulk_state_data(body({"componentids": [NODE], "STATE": "ready"}), now=0.0)
    assert states(hsm)[NODE] == ("Ready", "OK")
    hsm.patch_bulk_state_data(
        body({"ComponentIds": [NODE], "sTaTe": "READY", "flag": "WARN"}), now=0.0
    )
    assert states(hsm)[NODE] == ("Ready", "Warning")


def test_what_hbtd_sends_is_accepted() -> None:
    hsm = MockHsm(nodes=[NODE, OTHER], node_state="Ready")
    payload = {
        "ComponentIDs": [NODE, OTHER],
        "State": "Standby",
        "Flag": "Alert",
        "ExtendedInfo": {"ID": "", "Message": "Heartbeat stopped -- declared dead", "Flag": ""},
    }
    change = hsm.patch_bulk_state_data(body(payload), now=3.0)
    assert change is not None
    assert change.ids == (NODE, OTHER)
    assert hsm.changes() == [change]


def test_force_in_body() -> None:
    hsm = MockHsm(nodes=[NODE])
    hsm.patch_bulk_state_data(
        body({"ComponentIDs": [NODE], "State": "Populated", "Force": True}), now=0.0
    )
    assert states(hsm)[NODE] == ("Populated", "OK")


def test_single_state_data() -> None:
    hsm = MockHsm(nodes=[NODE])
    hsm.patch_state_data("X1000C0S0B0N0", body({"State": "Ready"}), now=0.0)
    assert states(hsm)[NODE] == ("Ready", "OK")
    with pytest.raises(HsmProblem, match="ID in URL and PATCH body do not match"):
        hsm.patch_state_data(NODE, body({"ID": "X1000C0S0B0N0", "State": "Ready"}), now=0.0)
    with pytest.raises(HsmProblem, match="invalid xname ID"):
        hsm.patch_state_data("FAKE", body({"State": "Ready"}), now=0.0)
    with pytest.raises(HsmProblem, match="Argument was not a valid HMS State"):
        hsm.patch_state_data(NODE, body({"State": "Awake"}), now=0.0)


# -- reading -----------------------------------------------------------------------------


def test_component_json_shape() -> None:
    hsm = MockHsm(nodes=["x1000c0s1b0n1"])
    assert hsm.component("x1000c0s1b0n1").to_json() == {
        "ID": "x1000c0s1b0n1",
        "Type": "Node",
        "State": "On",
        "Flag": "OK",
        "Enabled": True,
        "Role": "Compute",
        "NID": (1000 + 1) * 16384 + 1 * 32 + 1,
        "NetType": "Sling",
        "Arch": "X86",
    }
    assert list(hsm.component("x1000c0s1b0n1").to_json())[:4] == ["ID", "Type", "State", "Flag"]


def test_single_get_normalizes_and_404s() -> None:
    hsm = MockHsm(nodes=[NODE])
    assert hsm.component("X01000C0S0B0N0").id == NODE
    for missing in ("x1000c0s0b0n9", "FAKE"):
        with pytest.raises(HsmProblem) as caught:
            hsm.component(missing)
        assert (caught.value.status, caught.value.detail) == (404, "no such xname.")


def test_query_filters() -> None:
    hsm = MockHsm(
        nodes=[NODE, OTHER, "x1000c0s1b0n0"],
        components=[Component.node("x1000c0s0b0", state="Ready")],
    )
    hsm.set_state([OTHER], "Ready", now=0.0)

    def ids(**params: list[str]) -> list[str]:
        return [c["ID"] for c in hsm.query(params)]

    assert ids() == [NODE, OTHER, "x1000c0s1b0n0", "x1000c0s0b0"]
    assert ids(state=["ready"]) == [OTHER, "x1000c0s0b0"]
    assert ids(state=["Ready"], type=["node"]) == [OTHER]
    assert ids(state=["On", "Ready"], type=["Node"]) == [NODE, OTHER, "x1000c0s1b0n0"]
    assert ids(id=["X1000C0S0B0N1", NODE]) == [NODE, OTHER]
    assert ids(flag=["OK"], role=["compute"]) == [NODE, OTHER, "x1000c0s1b0n0"]
    assert ids(nid=[str((1000 + 1) * 16384)]) == [NODE]
    assert ids(STATE=["off"]) == []
    assert hsm.query({"stateonly": ["true"], "id": [NODE]}) == [
        {"ID": NODE, "Type": "Node", "State": "On", "Flag": "OK"}
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"state": ["Awake"]},
        {"flag": ["meh"]},
        {"type": ["Toaster"]},
        {"id": ["ncnw001"]},
        {"nid": ["one"]},
        {"role": ["Boss"]},
        {"stateonly": ["perhaps"]},
    ],
)
def test_bad_query_params(params: dict[str, list[str]]) -> None:
    with pytest.raises(HsmProblem) as caught:
        MockHsm(nodes=[NODE]).query(params)
    assert caught.value.status == 400
    assert caught.value.detail.startswith("bad query param:")


# -- seeding -----------------------------------------------------------------------------


def test_post_components_creates_and_force_overwrites() -> None:
    hsm = MockHsm(nodes=[NODE])
    hsm.post_components(
        body(
            {
                "Components": [
                    {"ID": "X1000C0S0B0N1", "State": "off"},
                    {"ID": NODE, "State": "Ready", "Flag": "Warning"},
                ]
            }
        ),
        now=0.0,
    )
    assert states(hsm) == {NODE: ("On", "OK"), OTHER: ("Off", "OK")}
    changes = hsm.post_components(
        body({"Components": [{"ID": NODE, "State": "Ready", "Flag": "Warning"}], "Force": True}),
        now=1.0,
    )
    assert states(hsm)[NODE] == ("Ready", "Warning")
    assert [(c.ids, c.state, c.flag) for c in changes] == [((NODE,), "Ready", "Warning")]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({}, "Missing Components"),
        ({"Components": []}, "Missing Components"),
        ({"Components": [{"State": "On"}]}, "Missing Components"),
        ({"Components": [{"ID": "nope", "State": "On"}]}, "couldn't validate components: "),
        ({"Components": [{"ID": NODE, "State": "Awake"}]}, "couldn't validate components: "),
    ],
)
def test_post_components_rejections(payload: Any, detail: str) -> None:
    hsm = MockHsm()
    with pytest.raises(HsmProblem) as caught:
        hsm.post_components(body(payload), now=0.0)
    assert caught.value.status == 400
    assert caught.value.detail.startswith(detail)
    assert hsm.components == {}


def test_constructor_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="not an xname"):
        MockHsm(nodes=["ncnw001"])


# -- faults, recording, reset ------------------------------------------------------------


def test_fault_modes() -> None:
    hsm = MockHsm()
    ready, state, mock = "/hsm/v2/service/ready", "/hsm/v2/State/Components", "/mock/state"
    assert hsm.decide_fault(state).problem is None
    hsm.set_faults(Faults(mode="down", latency_ms=250))
    for path in (ready, state, "/hsm/v2/service/liveness"):
        decision = hsm.decide_fault(path)
        assert decision.delay == 0.0  # an outage answers at once
        assert decision.problem is not None
        assert decision.problem.status == 503
    assert hsm.decide_fault(mock).problem is None
    assert hsm.decide_fault(mock).delay == 0.0
    hsm.set_faults(Faults(mode="unready", latency_ms=250))
    assert hsm.decide_fault(ready).problem is not None
    assert hsm.decide_fault(ready).delay == 0.25
    assert hsm.decide_fault(state).problem is None
    hsm.set_faults(Faults(mode="error", error_status=502))
    assert hsm.decide_fault(ready).problem is None
    problem = hsm.decide_fault(state + "/BulkStateData").problem
    assert problem is not None
    assert problem.status == 502


def test_error_rate_is_reproducible() -> None:
    def draws(seed: int) -> list[bool]:
        hsm = MockHsm(seed=seed, faults=Faults(error_rate=0.5))
        return [
            hsm.decide_fault("/hsm/v2/State/Components").problem is not None for _ in range(200)
        ]

    first = draws(7)
    assert first == draws(7)
    assert first != draws(8)
    assert 60 < sum(first) < 140


def test_update_faults_validates() -> None:
    hsm = MockHsm()
    assert hsm.update_faults({"latency_ms": 10}).to_json() == {
        "mode": "ok",
        "error_rate": 0.0,
        "latency_ms": 10.0,
        "error_status": 500,
        "refuse_ids": [],
        "refuse_status": 400,
    }
    for bad in (
        {"mode": "sideways"},
        {"error_rate": 2},
        {"error_status": 200},
        {"speed": 1},
        {"latency_ms": "x"},
        {"latency_ms": -1},
    ):
        with pytest.raises(HsmProblem) as caught:
            hsm.update_faults(bad)
        assert caught.value.status == 400
    assert hsm.faults.latency_ms == 10.0


def test_recording_and_since() -> None:
    hsm = MockHsm(max_records=3)
    for i in range(5):
        hsm.record(time=float(i), method="GET", path="/x", query={"a": ["1"]}, body=b"", status=200)
    assert [r.index for r in hsm.requests()] == [2, 3, 4]
    assert [r.index for r in hsm.requests(since=4)] == [4]
    assert hsm.requests(since=9) == []
    entry = hsm.record(time=9.0, method="PATCH", path="/p", query={}, body=b"{oops", status=500)
    assert (entry.body, entry.raw_body) == (None, "{oops")
    assert entry.to_json()["query"] == {}


def test_reset_restores_the_start() -> None:
    hsm = MockHsm(nodes=[NODE], faults=Faults(error_rate=0.5), seed=3)
    first = [hsm.decide_fault("/hsm/v2/State").problem is None for _ in range(20)]
    hsm.set_state([NODE], "Ready", now=0.0)
    hsm.set_faults(Faults(mode="down"))
    hsm.record(time=0.0, method="GET", path="/", query={}, body=b"", status=200)
    hsm.reset()
    assert states(hsm) == {NODE: ("On", "OK")}
    assert hsm.faults == Faults(error_rate=0.5)
    assert hsm.requests() == []
    assert hsm.changes() == []
    assert [hsm.decide_fault("/hsm/v2/State").problem is None for _ in range(20)] == first


# -- power polling (opt-in) --------------------------------------------------------------


def test_power_polling_sets_dead_nodes_off() -> None:
    hsm = MockHsm(nodes=[NODE, OTHER], node_state="Ready", power_polling=True)
    hsm.set_power([NODE], on=False)
    hsm.set_state([NODE, OTHER], "Standby", "Alert", now=100.0)
    assert hsm.next_poll() == 130.0
    assert hsm.poll(129.0) == []
    changes = hsm.poll(145.0)  # polls at 130 (both) and 140 (OTHER, still powered on)
    assert [(c.time, c.ids, c.state, c.flag) for c in changes] == [(130.0, (NODE,), "Off", "OK")]
    assert states(hsm) == {NODE: ("Off", "OK"), OTHER: ("Standby", "Alert")}
    assert hsm.next_poll() == 150.0
    hsm.set_power([OTHER], on=False)
    hsm.set_power([NODE], on=True)
    assert [c.ids for c in hsm.poll(150.0)] == [(OTHER,)]
    assert hsm.next_poll() is None


def test_leaving_standby_cancels_the_poll() -> None:
    hsm = MockHsm(nodes=[NODE], node_state="Ready", power_polling=True)
    hsm.set_power([NODE], on=False)
    hsm.set_state([NODE], "Standby", "Alert", now=0.0)
    hsm.set_state([NODE], "Ready", now=10.0)  # the heartbeat came back
    assert hsm.next_poll() is None
    assert hsm.poll(100.0) == []
    assert states(hsm)[NODE] == ("Ready", "OK")


def test_power_polling_is_off_by_default() -> None:
    hsm = MockHsm(nodes=[NODE], node_state="Ready")
    hsm.set_power([NODE], on=False)
    hsm.set_state([NODE], "Standby", "Alert", now=0.0)
    assert hsm.next_poll() is None
    assert hsm.poll(1000.0) == []

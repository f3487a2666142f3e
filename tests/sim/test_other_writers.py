"""HSM's other writers (issue #20): power events, operators and restores, in scenarios and in
the mock HSM, and the runs that play them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from hb_sim import ScenarioError, load_scenario_text, run_scenario
from hb_sim.hsm import MockHsm, create_mock_hsm_app
from hb_sim.scenario import OperatorPatch, PowerOff, PowerOn, RestoreHsm

NODES = ["x1000c0s0b0n0", "x1000c0s0b0n1"]

BASE = """name: s
duration: 60s
fleet: {ranges: ["x1000c0s[0-3]b0n0"]}
agents: {interval: 1s}
tracker: {warntime: 3s, errtime: 6s, reconcile_interval: 4s}
"""


def issues(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "s.yaml")
    return [str(issue) for issue in caught.value.issues]


def test_the_other_writers_are_read() -> None:
    scenario = load_scenario_text(
        BASE
        + """timeline:
  - {at: 10s, power_off: {nodes: all, spread: 2s}}
  - {at: 12s, power_on: x1000c0s0b0n0}
  - {at: 20s, operator: {nodes: x1000c0s1b0n0, state: standby, flag: alert}}
  - {at: 21s, operator: {nodes: x1000c0s1b0n0, state: Empty, force: true}}
  - {at: 30s, hsm_restore: {from: 5s}}
""",
        "s.yaml",
    )
    off, on, operator, forced, restore = scenario.timeline
    assert isinstance(off, PowerOff)
    assert off.spread == 2.0
    assert isinstance(on, PowerOn)
    assert isinstance(operator, OperatorPatch)
    assert (operator.state, operator.flag, operator.force) == ("Standby", "Alert", False)
    assert isinstance(forced, OperatorPatch)
    assert forced.force
    assert isinstance(restore, RestoreHsm)
    assert restore.source == 5.0
    assert restore.describe() == "HSM restored from 5s"
    assert scenario.tracker.reconcile == 4.0
    assert scenario.tracker.as_params()["Reconcile_interval"] == "4"


def test_without_reconcile_interval_nothing_is_sent_and_the_default_applies() -> None:
    scenario = load_scenario_text(BASE.replace(", reconcile_interval: 4s", ""), "s.yaml")
    assert "Reconcile_interval" not in scenario.tracker.as_params()
    assert scenario.tracker.reconcile == 300.0


def test_bad_writers_point_at_the_line() -> None:
    assert issues(
        BASE.replace("4s}", "soon}")
        + """timeline:
  - {at: 20s, operator: {nodes: x1000c0s1b0n0, state: Empty}}
  - {at: 20s, operator: {nodes: x1000c0s1b0n0, state: Bogus}}
  - {at: 20s, operator: {state: Off}}
  - {at: 30s, hsm_restore: {from: 40s}}
  - {at: 30s, power_on: x1009}
"""
    ) == [
        "s.yaml:5:58: tracker.reconcile_interval: expected a duration such as 30s, 1m30s, "
        "500ms or a number of seconds, got 'soon'",
        "s.yaml:7:55: timeline[0].operator.state: Empty needs force: true (HSM refuses it "
        "otherwise: operation not allowed and not forced.)",
        "s.yaml:8:55: timeline[1].operator.state: expected one of Unknown, Empty, Populated, "
        "Off, On, Standby, Halt, Ready, got 'Bogus'",
        "s.yaml:9:25: timeline[2].operator.nodes: missing required key",
        "s.yaml:10:35: timeline[3].hsm_restore.from: expected a moment before the restore "
        "(30s), got 40s",
        "s.yaml:11:25: timeline[4].power_on: cabinet x1009 is not in the fleet",
    ]


@pytest.fixture
async def client() -> AsyncIterator[tuple[MockHsm, httpx.AsyncClient]]:
    hsm = MockHsm(nodes=NODES, node_state="Ready")
    transport = httpx.ASGITransport(app=cast(Any, create_mock_hsm_app(hsm)))
    async with httpx.AsyncClient(transport=transport, base_url="http://cray-smd") as client:
        yield hsm, client


async def test_mock_write_follows_hsm_rules_and_force_and_is_not_recorded(
    client: tuple[MockHsm, httpx.AsyncClient],
) -> None:
    hsm, http = client
    answer = await http.post("/mock/write", json={"ids": NODES, "state": "On"})
    assert answer.status_code == 204
    assert hsm.components[NODES[0]].state == "Ready"  # On is not allowed from Ready
    await http.post("/mock/write", json={"ids": NODES[:1], "state": "On", "force": True})
    assert hsm.components[NODES[0]].state == "On"
    bad = await http.post("/mock/write", json={"ids": NODES, "state": "Empty"})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "operation not allowed and not forced."
    assert hsm.requests() == []  # other writers are not the tracker's PATCHes


async def test_mock_restore_puts_old_values_back_without_the_table(
    client: tuple[MockHsm, httpx.AsyncClient],
) -> None:
    hsm, http = client
    body = {
        "components": {
            NODES[0]: ["On", "OK"],
            NODES[1]: ["Ready", "OK"],
            "x9c0s0b0n0": ["On", "OK"],
        }
    }
    assert (await http.post("/mock/restore", json=body)).status_code == 204
    assert hsm.components[NODES[0]].state == "On"  # not a StateData update: no table
    assert [(c.ids, c.state) for c in hsm.changes()] == [((NODES[0],), "On")]
    bad = await http.post("/mock/restore", json={"components": {NODES[0]: ["Bogus", "OK"]}})
    assert bad.status_code == 400


def test_a_restore_brings_the_backup_back_in_a_run(tmp_path: Path) -> None:
    scenario = load_scenario_text(
        BASE
        + """timeline:
  - {at: 10s, operator: {nodes: x1000c0s1b0n0, state: Halt}}
  - {at: 12s, hsm_restore: {from: 5s}}
expect:
  - {at: 11s, nodes: x1000c0s1b0n0, state: Halt}
  - {by: 12500ms, after: 12s, nodes: x1000c0s1b0n0, state: Ready, flag: OK}
invariants: {max_detection_lateness: 1s}
""",
        str(tmp_path / "s.yaml"),
    )
    result = run_scenario(scenario)
    seen = [(v.name, v.passed, v.seen) for v in result.verdicts]
    assert result.record is not None
    history = [(c.time, c.state) for c in result.record.changes if "x1000c0s1b0n0" in c.ids]
    assert history[-2:] == [(10.0, "Halt"), (12.0, "Ready")], seen

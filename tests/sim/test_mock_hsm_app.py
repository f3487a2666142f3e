"""The mock HSM app, in process over httpx.ASGITransport, on trio's autojump MockClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
import trio
import trio.testing

from hb_sim.hsm import Faults, MockHsm, create_mock_hsm_app, run_power_polling

NODES = ["x1000c0s0b0n0", "x1000c0s0b0n1"]
BULK = "/hsm/v2/State/Components/BulkStateData"
PROBLEM = "application/problem+json"


@pytest.fixture
def hsm() -> MockHsm:
    return MockHsm(nodes=NODES, seed=1)


@pytest.fixture
async def client(hsm: MockHsm) -> AsyncIterator[httpx.AsyncClient]:
    # Quart's precise ASGI types do not match httpx's loose ones; the app is a valid ASGI app.
    transport = httpx.ASGITransport(app=cast(Any, create_mock_hsm_app(hsm)))
    async with httpx.AsyncClient(transport=transport, base_url="http://cray-smd") as client:
        yield client


def problem(detail: str, status: int = 400, title: str = "Bad Request") -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "detail": detail, "status": status}


async def test_service_routes(client: httpx.AsyncClient) -> None:
    ready = await client.get("/hsm/v2/service/ready")
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "application/json"
    assert ready.content == b'{"code":0,"message":"HSM is healthy"}'
    live = await client.get("/hsm/v2/service/liveness")
    assert (live.status_code, live.content) == (204, b"")
    assert "content-type" not in live.headers


async def test_bulk_patch_then_read(client: httpx.AsyncClient) -> None:
    sent = {
        "ComponentIDs": NODES,
        "State": "Ready",
        "Flag": "OK",
        "ExtendedInfo": {"ID": "", "Message": "Heartbeat started", "Flag": ""},
    }
    response = await client.patch(BULK, json=sent)
    assert (response.status_code, response.content) == (204, b"")
    listed = await client.get("/hsm/v2/State/Components", params={"stateonly": "true"})
    assert listed.json() == {
        "Components": [{"ID": x, "Type": "Node", "State": "Ready", "Flag": "OK"} for x in NODES]
    }
    one = await client.get("/hsm/v2/State/Components/X1000C0S0B0N1")
    assert one.json()["State"] == "Ready"
    none = await client.get("/hsm/v2/State/Components", params={"state": "Halt"})
    assert none.json() == {"Components": []}


async def test_single_patch(client: httpx.AsyncClient, hsm: MockHsm) -> None:
    response = await client.patch(
        "/hsm/v2/State/Components/x1000c0s0b0n0/StateData", json={"State": "Ready"}
    )
    assert response.status_code == 204
    assert hsm.components["x1000c0s0b0n0"].state == "Ready"


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"State": "Ready"}, "Missing IDs"),
        ({"ComponentIDs": ["x1000c0s0b0n0", "ncnw001"], "State": "Ready"}, "invalid xname ID"),
        ({"ComponentIDs": ["x1000c0s0b0n0"]}, "Missing State"),
        ({"ComponentIDs": ["x1000c0s0b0n0"], "State": "Up"}, "Argument was not a valid HMS State"),
        (
            {"ComponentIDs": ["x1000c0s0b0n0"], "State": "Empty"},
            "operation not allowed and not forced.",
        ),
    ],
)
async def test_problem_bodies(client: httpx.AsyncClient, payload: Any, detail: str) -> None:
    response = await client.patch(BULK, json=payload)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == problem(detail)


async def test_bad_json_is_500(client: httpx.AsyncClient) -> None:
    response = await client.patch(BULK, content=b"{not json")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith("error decoding JSON ")


async def test_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/hsm/v2/State/Components/FAKE")
    assert response.status_code == 404
    assert response.json() == problem("no such xname.", 404, "Not Found")


async def test_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.put("/hsm/v2/service/ready")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == problem("allow GET", 405, "Method Not Allowed")
    response = await client.delete("/hsm/v2/State/Components")
    assert response.headers["allow"] == "GET,POST"


async def test_seed_with_post(client: httpx.AsyncClient, hsm: MockHsm) -> None:
    response = await client.post(
        "/hsm/v2/State/Components",
        json={
            "Components": [{"ID": "x1000c0s1b0n0", "State": "Off", "Flag": "OK"}],
            "Force": False,
        },
    )
    assert response.status_code == 204
    assert hsm.components["x1000c0s1b0n0"].state == "Off"
    response = await client.post("/hsm/v2/State/Components", json={"Components": []})
    assert response.json() == problem("Missing Components")


async def test_requests_are_recorded_with_arrival_time(
    client: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    await client.get("/hsm/v2/service/ready")
    await trio.sleep(5)
    await client.patch(BULK, json={"ComponentIDs": ["x1000c0s0b0n0"], "State": "Ready"})
    await client.patch(BULK, content=b"oops")
    log = (await client.get("/mock/requests")).json()
    assert [(r["index"], r["method"], r["path"], r["status"]) for r in log] == [
        (0, "GET", "/hsm/v2/service/ready", 200),
        (1, "PATCH", BULK, 204),
        (2, "PATCH", BULK, 500),
    ]
    assert [r["time"] - start for r in log] == [0.0, 5.0, 5.0]
    assert log[1]["body"] == {"ComponentIDs": ["x1000c0s0b0n0"], "State": "Ready"}
    assert (log[2]["body"], log[2]["raw_body"]) == (None, "oops")
    later = (await client.get("/mock/requests", params={"since": 2})).json()
    assert [r["index"] for r in later] == [2]
    changes = (await client.get("/mock/changes")).json()
    assert changes == [
        {"index": 0, "time": start + 5.0, "ids": ["x1000c0s0b0n0"], "state": "Ready", "flag": "OK"}
    ]
    bad = await client.get("/mock/requests", params={"since": "x"})
    assert bad.status_code == 400


async def test_latency_follows_the_mock_clock(
    client: httpx.AsyncClient, hsm: MockHsm, autojump_clock: trio.testing.MockClock
) -> None:
    hsm.set_faults(Faults(latency_ms=1500))
    start = trio.current_time()
    response = await client.get("/hsm/v2/service/ready")
    assert response.status_code == 200
    assert trio.current_time() - start == pytest.approx(1.5)
    start = trio.current_time()
    await client.get("/mock/state")  # the control API is never slowed down
    assert trio.current_time() == start


async def test_faults_over_the_control_api(client: httpx.AsyncClient) -> None:
    set_down = await client.post("/mock/faults", json={"mode": "down"})
    assert set_down.json() == {
        "mode": "down",
        "error_rate": 0.0,
        "latency_ms": 0.0,
        "error_status": 500,
        "refuse_ids": [],
        "refuse_status": 400,
    }
    for path in ("/hsm/v2/service/ready", "/hsm/v2/service/liveness", "/hsm/v2/State/Components"):
        response = await client.get(path)
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM
    await client.post("/mock/faults", json={"mode": "unready"})
    assert (await client.get("/hsm/v2/service/ready")).status_code == 503
    assert (await client.get("/hsm/v2/State/Components")).status_code == 200
    await client.post("/mock/faults", json={"mode": "error", "error_status": 502})
    assert (await client.get("/hsm/v2/service/ready")).status_code == 200
    failed = await client.patch(BULK, json={"ComponentIDs": ["x1000c0s0b0n0"], "State": "Ready"})
    assert failed.status_code == 502
    assert (await client.get("/mock/faults")).json()["mode"] == "error"
    bad = await client.post("/mock/faults", json={"mode": "sideways"})
    assert bad.status_code == 400
    assert (await client.post("/mock/faults", content=b"[]")).status_code == 400
    assert (await client.post("/mock/reset")).status_code == 204
    assert (await client.get("/hsm/v2/service/ready")).status_code == 200


async def test_error_rate_is_reproducible_over_http(
    client: httpx.AsyncClient, hsm: MockHsm
) -> None:
    async def statuses() -> list[int]:
        await client.post("/mock/reset")
        await client.post("/mock/faults", json={"error_rate": 0.3})
        return [(await client.get("/hsm/v2/State/Components")).status_code for _ in range(30)]

    first = await statuses()
    assert set(first) == {200, 500}
    assert await statuses() == first


async def test_mock_state_and_reset(client: httpx.AsyncClient, hsm: MockHsm) -> None:
    await client.patch(BULK, json={"ComponentIDs": NODES, "State": "Ready"})
    state = (await client.get("/mock/state")).json()
    assert [(c["ID"], c["State"]) for c in state["Components"]] == [(x, "Ready") for x in NODES]
    await client.post("/mock/reset")
    assert {c.state for c in hsm.components.values()} == {"On"}
    assert hsm.requests() == []


async def test_injected_clock_stamps_requests_and_changes() -> None:
    hsm = MockHsm(nodes=NODES)
    ticks = iter([100.0, 101.5])
    app = create_mock_hsm_app(hsm, clock=lambda: next(ticks))
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://cray-smd") as client:
        await client.get("/hsm/v2/service/ready")
        await client.patch(BULK, json={"ComponentIDs": NODES[:1], "State": "Ready"})
    assert [r.time for r in hsm.requests()] == [100.0, 101.5]
    assert [c.time for c in hsm.changes()] == [101.5]


async def test_power_polling_in_virtual_time(autojump_clock: trio.testing.MockClock) -> None:
    hsm = MockHsm(nodes=NODES, node_state="Ready", power_polling=True)
    transport = httpx.ASGITransport(app=cast(Any, create_mock_hsm_app(hsm)))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://cray-smd") as client,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(run_power_polling, hsm)
        start = trio.current_time()
        power = await client.post("/mock/power", json={"ids": ["X1000C0S0B0N0"], "on": False})
        assert power.status_code == 204
        await client.patch(BULK, json={"ComponentIDs": NODES, "State": "Standby", "Flag": "Alert"})
        await trio.sleep(29.5)
        assert hsm.components[NODES[0]].state == "Standby"
        await trio.sleep(1)
        assert hsm.components[NODES[0]].state == "Off"
        assert hsm.components[NODES[1]].state == "Standby"  # powered on: polled again later
        assert [c.time - start for c in hsm.changes()] == [0.0, 30.0]
        bad = await client.post("/mock/power", json={"ids": "x1000c0s0b0n0", "on": False})
        assert bad.status_code == 400
        nursery.cancel_scope.cancel()

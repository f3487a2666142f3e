"""POST /hmi/v1/hbstates and GET /hmi/v1/hbstate/{xname}: shapes and the Heartbeating rule.

Checklist items 10 and 30-33. Heartbeating is upstream's: a record exists and less than Errtime
has passed since its last heartbeat, whatever the detector has or has not reported. Deviations:
an empty list is ``[]`` (not ``null``); names are looked up normalized on both endpoints; a path
name that is no xname is a 400.
"""

from __future__ import annotations

import json

import httpx
import pytest

from hbtd_server.core import HbState
from hbtd_server.engine import Engine
from hbtd_server.http._app import MAX_HBSTATES_NAMES
from tests.api.conftest import API, PROBLEM_JSON, ManualClock, hb_body, problem

HBSTATES = f"{API}/hbstates"
X = "x0c0s0b0n0"


async def beat(client: httpx.AsyncClient, xname: str = X) -> None:
    response = await client.post(
        f"{API}/heartbeat/{xname}", content=hb_body(Status="OK", Timestamp="t")
    )
    assert response.status_code == 200


async def single(client: httpx.AsyncClient, xname: str) -> tuple[str, bool]:
    response = await client.get(f"{API}/hbstate/{xname}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert list(document) == ["XName", "Heartbeating"]
    return document["XName"], document["Heartbeating"]


# -- the time rule (items 10, 30) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("silence", "detect", "heartbeating"),
    [
        pytest.param(0.0, False, True, id="just-heard"),
        pytest.param(9.999, True, True, id="before-warntime"),
        pytest.param(10.0, True, True, id="in-warning"),
        pytest.param(29.999, True, True, id="just-before-errtime"),
        pytest.param(29.999, False, True, id="just-before-errtime-undetected"),
        pytest.param(30.0, False, False, id="at-errtime-not-yet-detected"),
        pytest.param(30.0, True, False, id="at-errtime-declared-dead"),
        pytest.param(500.0, False, False, id="long-silent"),
    ],
)
async def test_heartbeating_is_age_below_errtime_independent_of_detection(
    client: httpx.AsyncClient,
    engine: Engine,
    clock: ManualClock,
    silence: float,
    detect: bool,
    heartbeating: bool,
) -> None:
    await beat(client)
    if detect:
        clock.advance(min(silence, 10.0))
        engine.detect()
        clock.advance(silence - min(silence, 10.0))
        engine.detect()
    else:
        clock.advance(silence)
    assert await single(client, X) == (X, heartbeating)
    response = await client.post(HBSTATES, json={"XNames": [X]})
    assert response.json() == {"HBStates": [{"XName": X, "Heartbeating": heartbeating}]}


async def test_component_in_warning_still_heartbeating(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    await beat(client)
    clock.advance(15.0)
    engine.detect()
    view = engine.view(X)
    assert view is not None
    assert view.state is HbState.WARNING
    assert await single(client, X) == (X, True)


async def test_lowered_errtime_applies_to_heartbeating_at_once(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await beat(client)
    clock.advance(8.0)
    assert await single(client, X) == (X, True)
    patch = await client.patch(f"{API}/params", json={"Warntime": "2", "Errtime": "5"})
    assert patch.status_code == 200
    assert await single(client, X) == (X, False)


# -- GET /hbstate/{xname} (items 30, 31) ------------------------------------------------------


@pytest.mark.parametrize(
    ("path_xname", "echoed"),
    [
        pytest.param("x0c0s0b0n0", "x0c0s0b0n0", id="plain"),
        pytest.param("X0C0S00B0N0", "x0c0s0b0n0", id="upper-and-zeros-normalized"),
        pytest.param("x0000c0s0b00n00", "x0c0s0b0n0", id="many-zeros"),
        pytest.param("%20x0c0s0b0n0", "x0c0s0b0n0", id="padded"),
    ],
)
async def test_hbstate_normalizes_and_echoes(
    client: httpx.AsyncClient, path_xname: str, echoed: str
) -> None:
    await beat(client)
    assert await single(client, path_xname) == (echoed, True)


@pytest.mark.parametrize(
    ("path_xname", "echoed"),
    [
        pytest.param("x0c0s0b0n7", "x0c0s0b0n7", id="unknown-node"),
        pytest.param("X9C0S0B0N07", "x9c0s0b0n7", id="unknown-normalized"),
        pytest.param("s0", "s0", id="system"),
    ],
)
async def test_hbstate_unknown_name_is_200_false(
    client: httpx.AsyncClient, path_xname: str, echoed: str
) -> None:
    await beat(client)
    assert await single(client, path_xname) == (echoed, False)


async def test_hbstate_exact_body_bytes(client: httpx.AsyncClient) -> None:
    await beat(client)
    response = await client.get(f"{API}/hbstate/{X}")
    assert response.content == b'{"XName":"x0c0s0b0n0","Heartbeating":true}'


@pytest.mark.parametrize(
    "path_xname",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("ncnw001", id="ncn-hostname"),
        pytest.param("x0c8s0b0n0", id="chassis-8"),
        pytest.param("x" * 300, id="overlong"),
    ],
)
async def test_hbstate_refuses_non_xnames(client: httpx.AsyncClient, path_xname: str) -> None:
    response = await client.get(f"{API}/hbstate/{path_xname}")
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == problem(
        400, "Invalid Request", "Invalid Component Name", f"{API}/hbstate/{path_xname}"
    )


# -- POST /hbstates (items 32, 33) ------------------------------------------------------------


async def test_hbstates_keeps_order_duplicates_and_spelling(client: httpx.AsyncClient) -> None:
    await beat(client)
    await beat(client, "x0c0s0b0n5")
    names = ["a", "a", X, "X0C0S00B0N5", "x0c0s0b0n9", X]
    response = await client.post(HBSTATES, json={"XNames": names})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "HBStates": [
            {"XName": "a", "Heartbeating": False},
            {"XName": "a", "Heartbeating": False},
            {"XName": X, "Heartbeating": True},
            # Echoed as sent, looked up normalized (upstream would miss this one, 8.8).
            {"XName": "X0C0S00B0N5", "Heartbeating": True},
            {"XName": "x0c0s0b0n9", "Heartbeating": False},
            {"XName": X, "Heartbeating": True},
        ]
    }


async def test_hbstates_exact_body_bytes(client: httpx.AsyncClient) -> None:
    await beat(client)
    response = await client.post(HBSTATES, content=b'{"XNames":["x0c0s0b0n0","a"]}')
    assert response.content == (
        b'{"HBStates":[{"XName":"x0c0s0b0n0","Heartbeating":true},'
        b'{"XName":"a","Heartbeating":false}]}'
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"XNames":[]}', id="empty-list"),
        pytest.param(b"{}", id="no-key"),
        pytest.param(b'{"XNames":null}', id="null-list"),
        pytest.param(b"null", id="null-body"),
        pytest.param(b'{"Other":["x0c0s0b0n0"]}', id="unknown-key-only"),
    ],
)
async def test_hbstates_empty_answer_is_an_empty_list(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(HBSTATES, content=body)
    assert response.status_code == 200
    assert response.content == b'{"HBStates":[]}'


@pytest.mark.parametrize(
    "key", [pytest.param("XNames", id="XNames"), pytest.param("xnames", id="xnames"),
            pytest.param("XNAMES", id="XNAMES")],
)  # fmt: skip
async def test_hbstates_key_is_case_insensitive(client: httpx.AsyncClient, key: str) -> None:
    await beat(client)
    response = await client.post(HBSTATES, content=json.dumps({key: [X]}).encode())
    assert response.json() == {"HBStates": [{"XName": X, "Heartbeating": True}]}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(b"", "Error unmarshalling inbound request", id="empty-body"),
        pytest.param(b'{"XNames":"x"}', "Error unmarshalling inbound request", id="string-list"),
        pytest.param(b'{"XNames":[1]}', "Error unmarshalling inbound request", id="number-item"),
        pytest.param(b'{"XNames":["a",null]}', "Error unmarshalling inbound request",
                     id="null-item"),
        pytest.param(b'{"XNames":{"a":1}}', "Error unmarshalling inbound request", id="object"),
        pytest.param(b'["x0c0s0b0n0"]', "Error unmarshalling inbound request", id="bare-array"),
        pytest.param(b'"x0c0s0b0n0"', "Error unmarshalling inbound request", id="bare-string"),
        pytest.param(b'{"XNames":[]', "Error unmarshalling inbound request", id="truncated"),
        pytest.param(b'{"XNames":[]}x', "Error unmarshalling inbound request", id="trailing"),
        pytest.param(b"\xff\xfe", "Error unmarshalling inbound request", id="not-utf8"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "Error unmarshalling inbound request",
                     id="deeply-nested"),
        pytest.param(json.dumps({"XNames": ["x" * 257]}).encode(),
                     "XNames longer than 256 characters are not xnames", id="overlong-name"),
    ],
)  # fmt: skip
async def test_hbstates_rejects(client: httpx.AsyncClient, body: bytes, detail: str) -> None:
    response = await client.post(HBSTATES, content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == problem(400, "Invalid Request", detail, HBSTATES)


async def test_hbstates_caps_the_list_length(client: httpx.AsyncClient) -> None:
    await beat(client)
    at_cap = await client.post(HBSTATES, json={"XNames": [X] * MAX_HBSTATES_NAMES})
    assert at_cap.status_code == 200
    assert len(at_cap.json()["HBStates"]) == MAX_HBSTATES_NAMES
    over = await client.post(HBSTATES, json={"XNames": ["a"] * (MAX_HBSTATES_NAMES + 1)})
    assert over.status_code == 400
    assert over.json()["detail"] == (
        f"Too many XNames: {MAX_HBSTATES_NAMES + 1} (at most {MAX_HBSTATES_NAMES})"
    )

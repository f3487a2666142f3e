"""GET and PATCH /hmi/v1/params: shape, value rules, details, all-or-nothing.

Checklist items 16-25. Deviations (issue 3): the PATCH reply is ``application/json``; Errtime
must exceed Warntime, Warntime, Interval and Sm_timeout must be at least 1 (item 24 not copied);
Port and Kv_url are read-only but their current value is accepted, so GET, edit, PATCH works;
a mis-cased key of the wrong type still gets a detail.
"""

from __future__ import annotations

import json

import httpx
import pytest

from hbtd_server.core import PARAM_NAMES, Heartbeat
from hbtd_server.engine import Engine
from tests.api.conftest import API, PROBLEM_JSON, ManualClock, problem

PARAMS = f"{API}/params"
DEFAULT_BODY = (
    b'{"Debug":"0","Nosm":"0","Use_telemetry":"1","Telemetry_host":"","Warntime":"10",'
    b'"Errtime":"30","Port":"28500","Kv_url":"mem:","Interval":"5",'
    b'"Sm_url":"http://localhost:27779/hsm/v2","Sm_timeout":"10","Sm_retries":"3",'
    # Extensions follow upstream's twelve: the mass-silence guard.
    b'"Guard_share":"50","Guard_min":"20","Guard_hold":"300","Reconcile_interval":"300"}'
)
# The order itself is pinned by DEFAULT_BODY, byte for byte.
KEYS = list(PARAM_NAMES)


def bad_params(detail: str | None) -> bytes:
    return problem(400, "Invalid Request", detail, PARAMS)


async def test_get_params_defaults_exact_bytes(client: httpx.AsyncClient) -> None:
    response = await client.get(PARAMS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == DEFAULT_BODY
    assert list(response.json()) == KEYS


@pytest.mark.parametrize(
    ("body", "changed"),
    [
        pytest.param({"Warntime": "5"}, {"Warntime": "5"}, id="warntime"),
        pytest.param({"debug": "3", "warntime": "5", "errtime": "10"},
                     {"Debug": "3", "Warntime": "5", "Errtime": "10"}, id="lower-case-keys"),
        pytest.param({"DEBUG": "2"}, {"Debug": "2"}, id="upper-case-key"),
        pytest.param({"Debug": "1_0"}, {"Debug": "10"}, id="underscore"),
        pytest.param({"Debug": "0x4"}, {"Debug": "4"}, id="hex"),
        pytest.param({"Debug": "0o10"}, {"Debug": "8"}, id="octal-0o"),
        pytest.param({"Debug": "017"}, {"Debug": "15"}, id="octal-leading-zero"),
        pytest.param({"Debug": "0b11"}, {"Debug": "3"}, id="binary"),
        pytest.param({"Debug": "4294967295"}, {"Debug": "4294967295"}, id="uint32-max"),
        pytest.param({"Errtime": "4294967295"}, {"Errtime": "4294967295"}, id="errtime-max"),
        pytest.param({"Nosm": "TRUE"}, {"Nosm": "1"}, id="nosm-TRUE"),
        pytest.param({"Nosm": "yes"}, {"Nosm": "1"}, id="nosm-yes"),
        pytest.param({"Nosm": "On"}, {"Nosm": "1"}, id="nosm-On"),
        pytest.param({"Nosm": "1"}, {"Nosm": "1"}, id="nosm-1"),
        pytest.param({"Use_telemetry": "off"}, {"Use_telemetry": "0"}, id="telemetry-off"),
        pytest.param({"Use_telemetry": "FALSE"}, {"Use_telemetry": "0"}, id="telemetry-FALSE"),
        pytest.param({"Use_telemetry": "no"}, {"Use_telemetry": "0"}, id="telemetry-no"),
        pytest.param({"Telemetry_host": "kafka:9092:cray-hmsheartbeat-notifications"},
                     {"Telemetry_host": "kafka:9092:cray-hmsheartbeat-notifications"},
                     id="telemetry-host"),
        pytest.param({"Interval": "1"}, {"Interval": "1"}, id="interval-1"),
        pytest.param({"Sm_url": "http://cray-smd/hsm/v2"}, {"Sm_url": "http://cray-smd/hsm/v2"},
                     id="sm-url"),
        pytest.param({"Sm_url": "https://api-gw/apis/smd/hsm/v2"},
                     {"Sm_url": "https://api-gw/apis/smd/hsm/v2"}, id="sm-url-https"),
        pytest.param({"Sm_timeout": "1"}, {"Sm_timeout": "1"}, id="sm-timeout-1"),
        pytest.param({"Sm_retries": "0"}, {"Sm_retries": "0"}, id="sm-retries-0"),
        pytest.param({"Warntime": "40", "Errtime": "50"}, {"Warntime": "40", "Errtime": "50"},
                     id="raise-both-together"),
        # Item 23 and "empty means not supplied".
        pytest.param({"Bogus": "1"}, {}, id="unknown-key"),
        pytest.param({"Bogus": 1}, {}, id="unknown-key-any-type"),
        pytest.param({"Warntime": ""}, {}, id="empty-string-not-supplied"),
        pytest.param({"Warntime": None}, {}, id="null-not-supplied"),
        pytest.param({}, {}, id="empty-object"),
        pytest.param(None, {}, id="null-body"),
        # Port and Kv_url: read-only, but the current value round-trips.
        pytest.param({"Port": "28500"}, {}, id="port-current-value"),
        pytest.param({"Port": "0x6F54"}, {}, id="port-current-value-hex"),
        pytest.param({"Kv_url": "mem:"}, {}, id="kv-url-current-value"),
    ],
)  # fmt: skip
async def test_patch_params_applies(
    client: httpx.AsyncClient, engine: Engine, body: object, changed: dict[str, str]
) -> None:
    expected = {**json.loads(DEFAULT_BODY), **changed}
    response = await client.patch(PARAMS, content=json.dumps(body).encode())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"  # item 17: not text/plain
    assert list(response.json()) == KEYS
    assert response.json() == expected
    assert engine.params.to_json() == expected
    assert (await client.get(PARAMS)).content == response.content


async def test_patch_warntime_moves_running_deadlines(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    engine.heartbeat(Heartbeat("x0c0s0b0n0", "OK", "t"))
    assert engine.detect() == clock.now + 10  # the default Warntime
    response = await client.patch(PARAMS, json={"Warntime": "5", "Errtime": "12"})
    assert response.status_code == 200
    assert engine.detect() == clock.now + 5  # the node heard already warns sooner


async def test_get_edit_patch_round_trip(client: httpx.AsyncClient, engine: Engine) -> None:
    # An operator GETs, edits one value and PATCHes the whole object back.
    document = (await client.get(PARAMS)).json()
    document["Warntime"] = "7"
    response = await client.patch(PARAMS, json=document)
    assert response.status_code == 200
    assert response.json() == document
    assert engine.params.warntime == 7


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        # Items 18, 19: ParseUint(v, 0, 32).
        pytest.param(b'{"Errtime":"abc"}', "Parameter 'errtime' with illegal value 'abc'; ",
                     id="errtime-abc"),
        pytest.param(b'{"Errtime":"-5"}', "Parameter 'errtime' with illegal value '-5'; ",
                     id="errtime-negative"),
        pytest.param(b'{"Debug":"4294967296"}',
                     "Parameter 'debug' with illegal value '4294967296'; ", id="debug-overflow"),
        pytest.param(b'{"Debug":"+1"}', "Parameter 'debug' with illegal value '+1'; ",
                     id="debug-plus"),
        pytest.param(b'{"Debug":" 1"}', "Parameter 'debug' with illegal value ' 1'; ",
                     id="debug-space"),
        pytest.param(b'{"Debug":"1.5"}', "Parameter 'debug' with illegal value '1.5'; ",
                     id="debug-float"),
        pytest.param(b'{"Debug":"08"}', "Parameter 'debug' with illegal value '08'; ",
                     id="debug-bad-octal"),
        pytest.param(b'{"Debug":"_1"}', "Parameter 'debug' with illegal value '_1'; ",
                     id="debug-leading-underscore"),
        pytest.param(b'{"Sm_retries":"x"}', "Parameter 'sm_retries' with illegal value 'x'; ",
                     id="sm-retries"),
        # Item 20, with the round-trip deviation: a different Port is refused.
        pytest.param(b'{"Port":"28501"}', "Parameter 'port' can't be changed in PATCH operation; ",
                     id="port-changed"),
        pytest.param(b'{"Port":"abc"}', "Parameter 'port' can't be changed in PATCH operation; ",
                     id="port-garbage"),
        pytest.param(b'{"Kv_url":"https://localhost:2379"}',
                     "Parameter 'kv_url' can't be changed in PATCH operation; ",
                     id="kv-url-changed"),
        # Item 25.
        pytest.param(b'{"Nosm":"maybe"}', "Parameter 'nosm' with illegal value 'maybe'; ",
                     id="nosm-word"),
        pytest.param(b'{"Use_telemetry":"perhaps"}',
                     "Parameter 'use_telemetry' with unknown value 'perhaps'; ",
                     id="use-telemetry-word"),
        pytest.param(b'{"Telemetry_host":"a:b"}',
                     "Parameter 'telemetry_host' with invalid format 'a:b'; ",
                     id="telemetry-host-two-parts"),
        pytest.param(b'{"Telemetry_host":"a:b:c"}',
                     "Parameter 'telemetry_host' with invalid format 'a:b:c'; ",
                     id="telemetry-host-port-not-number"),
        pytest.param(b'{"Telemetry_host":"a:1:c:d"}',
                     "Parameter 'telemetry_host' with invalid format 'a:1:c:d'; ",
                     id="telemetry-host-four-parts"),
        pytest.param(b'{"Sm_url":"cray-smd/hsm/v2"}',
                     "Parameter 'sm_url' with invalid URL 'cray-smd/hsm/v2'; ", id="sm-url"),
        # Item 22: a non-string value of a known field, exact-case or not.
        pytest.param(b'{"Errtime":8}', "Invalid data type in Errtime field. ", id="errtime-number"),
        pytest.param(b'{"errtime":8}', "Invalid data type in Errtime field. ",
                     id="errtime-number-mis-cased"),
        pytest.param(b'{"Nosm":true}', "Invalid data type in Nosm field. ", id="nosm-bool"),
        pytest.param(b'{"Sm_retries":[3]}', "Invalid data type in Sm_retries field. ",
                     id="sm-retries-list"),
        pytest.param(b'{"Sm_retries":3,"Debug":3}', "Invalid data type in Debug field. ",
                     id="type-errors-in-struct-order"),
        pytest.param(b'{"Debug":"x","Errtime":8}', "Invalid data type in Errtime field. ",
                     id="type-error-before-values"),
        # Item 23: the body must be a JSON object (or null).
        pytest.param(b"", "Invalid JSON data type", id="empty-body"),
        pytest.param(b"[]", "Invalid JSON data type", id="array"),
        pytest.param(b'"Debug"', "Invalid JSON data type", id="string"),
        pytest.param(b'{"Debug":"1"', "Invalid JSON data type", id="truncated"),
        # Item 24, not copied: checks that upstream lacks.
        pytest.param(b'{"Errtime":"5","Warntime":"10"}',
                     "Parameter 'errtime' (5) must be greater than warntime (10); ",
                     id="errtime-below-warntime"),
        pytest.param(b'{"Errtime":"10"}',
                     "Parameter 'errtime' (10) must be greater than warntime (10); ",
                     id="errtime-equal-warntime"),
        pytest.param(b'{"Warntime":"40"}',
                     "Parameter 'errtime' (30) must be greater than warntime (40); ",
                     id="warntime-above-current-errtime"),
        pytest.param(b'{"Warntime":"0"}', "Parameter 'warntime' must be at least 1, not 0; ",
                     id="warntime-zero"),
        pytest.param(b'{"Interval":"0"}', "Parameter 'interval' must be at least 1, not 0; ",
                     id="interval-zero"),
        pytest.param(b'{"Sm_timeout":"0"}', "Parameter 'sm_timeout' must be at least 1, not 0; ",
                     id="sm-timeout-zero"),
        pytest.param(b'{"Interval":"0","Sm_timeout":"0"}',
                     "Parameter 'interval' must be at least 1, not 0; "
                     "Parameter 'sm_timeout' must be at least 1, not 0; ",
                     id="interval-and-sm-timeout-zero"),
        # Value errors come first; the cross-checks run only on otherwise valid values.
        pytest.param(b'{"Errtime":"1","Debug":"x"}', "Parameter 'debug' with illegal value 'x'; ",
                     id="value-error-before-cross-check"),
    ],
)  # fmt: skip
async def test_patch_params_rejects_and_applies_nothing(
    client: httpx.AsyncClient, engine: Engine, body: bytes, detail: str
) -> None:
    before = engine.params
    response = await client.patch(PARAMS, content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == bad_params(detail)
    assert engine.params is before
    assert (await client.get(PARAMS)).content == DEFAULT_BODY


async def test_patch_params_fragments_in_upstream_order(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    # Item 21: one 400, fragments in upstream's order (Interval before Port), nothing applied.
    body = {key: "bad value" for key in reversed(KEYS)}
    response = await client.patch(PARAMS, json=body)
    assert response.status_code == 400
    assert response.content == bad_params(
        "Parameter 'debug' with illegal value 'bad value'; "
        "Parameter 'nosm' with illegal value 'bad value'; "
        "Parameter 'use_telemetry' with unknown value 'bad value'; "
        "Parameter 'telemetry_host' with invalid format 'bad value'; "
        "Parameter 'warntime' with illegal value 'bad value'; "
        "Parameter 'errtime' with illegal value 'bad value'; "
        "Parameter 'interval' with illegal value 'bad value'; "
        "Parameter 'port' can't be changed in PATCH operation; "
        "Parameter 'kv_url' can't be changed in PATCH operation; "
        "Parameter 'sm_url' with invalid URL 'bad value'; "
        "Parameter 'sm_timeout' with illegal value 'bad value'; "
        "Parameter 'sm_retries' with illegal value 'bad value'; "
        "Parameter 'guard_share' with illegal value 'bad value'; "
        "Parameter 'guard_min' with illegal value 'bad value'; "
        "Parameter 'guard_hold' with illegal value 'bad value'; "
        "Parameter 'reconcile_interval' with illegal value 'bad value'; "
    )
    assert engine.params.to_json() == json.loads(DEFAULT_BODY)


async def test_one_bad_field_blocks_the_good_ones(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    engine.heartbeat(Heartbeat("x0c0s0b0n0", "OK", "t"))
    response = await client.patch(
        PARAMS, json={"Debug": "2", "Warntime": "5", "Errtime": "12", "Sm_retries": "-1"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Parameter 'sm_retries' with illegal value '-1'; "
    assert (engine.params.debug, engine.params.warntime, engine.params.errtime) == (0, 10, 30)
    assert engine.detect() == clock.now + 10  # running deadlines untouched


# -- values the component that uses them could not parse (#21) ---------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("Sm_url", "http://h:abc/x", "Invalid port"),
        ("Sm_url", "http://[::1", "Invalid port"),
        ("Sm_url", "http://[zz]/x", "Invalid IPv6 address"),
        ("Sm_url", "http://h/x\r\nX-Evil: 1", "non-printable"),
        ("Sm_url", "http:///x", "no host"),
        ("Sm_url", "http://h:99999/x", "the port must be 1-65535"),
        ("Sm_url", "http://ex ample/x", "not a valid host name"),
        ("Telemetry_host", "bad host:9092:topic", None),
        ("Telemetry_host", "a,b:9092:topic", None),
        ("Telemetry_host", "kafka:9092:no topic", None),
    ],
)
async def test_a_value_its_component_cannot_parse_is_refused_naming_the_field(
    client: httpx.AsyncClient, engine: Engine, field: str, value: str, reason: str | None
) -> None:
    # Such a PATCH used to be answered 200, and the HSM poller then died on httpx.InvalidURL,
    # taking the process with it.
    before = engine.params
    response = await client.patch(PARAMS, json={field: value, "Warntime": "7"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith(f"Parameter '{field.lower()}' with invalid ")
    if reason is not None:
        assert reason in detail
    assert engine.params is before  # nothing applied, the good field neither


async def test_a_usable_sm_url_with_a_port_and_a_password_is_taken(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    url = "https://hbtd:secret@[fd00::5]:8443/apis/smd/hsm/v2"
    response = await client.patch(PARAMS, json={"Sm_url": url})
    assert response.status_code == 200
    assert engine.params.sm_url == url
    assert response.json()["Sm_url"] == "https://hbtd:***@[fd00::5]:8443/apis/smd/hsm/v2"

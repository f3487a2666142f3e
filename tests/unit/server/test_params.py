"""Params: upstream's /params JSON, PATCH value rules, fragment order, all-or-nothing.

Unit level (no HTTP); the API tests check the same rules through the routes. Deviations from
upstream are issue 3's: Errtime > Warntime, Warntime, Interval and Sm_timeout >= 1, Port and
Kv_url read-only with the current value accepted, Sm_url must be an http(s) URL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from hbtd_server.core import DEFAULT_PARAMS, InvalidRequest, Params, parse_telemetry_host

UPSTREAM_DEFAULTS = {
    "Debug": "0",
    "Nosm": "0",
    "Use_telemetry": "1",
    "Telemetry_host": "",
    "Warntime": "10",
    "Errtime": "30",
    "Port": "28500",
    "Kv_url": "mem:",  # ours: the embedded store (upstream: https://localhost:2379)
    "Interval": "5",
    "Sm_url": "http://localhost:27779/hsm/v2",
    "Sm_timeout": "10",
    "Sm_retries": "3",
    # Extensions follow upstream's twelve: the mass-silence guard.
    "Guard_share": "50",
    "Guard_min": "20",
    "Guard_hold": "300",
    # ... and reconciliation with HSM.
    "Reconcile_interval": "300",
}


def detail_of(params: Params, body: object) -> str:
    with pytest.raises(InvalidRequest) as caught:
        params.patched(body)
    assert caught.value.status_hint == 400
    return caught.value.detail


def test_defaults_and_key_order() -> None:
    shown = DEFAULT_PARAMS.to_json()
    assert shown == UPSTREAM_DEFAULTS
    assert list(shown) == list(UPSTREAM_DEFAULTS)
    assert all(isinstance(value, str) for value in shown.values())


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        pytest.param(Params(nosm=True, use_telemetry=False), {"Nosm": "1", "Use_telemetry": "0"},
                     id="flags-as-0-1"),
        pytest.param(Params(debug=4294967295), {"Debug": "4294967295"}, id="big-number"),
        pytest.param(Params(telemetry_host="k:9092:t"), {"Telemetry_host": "k:9092:t"},
                     id="telemetry-host"),
    ],
)  # fmt: skip
def test_to_json_renders_strings(params: Params, shown: dict[str, str]) -> None:
    assert params.to_json() == {**UPSTREAM_DEFAULTS, **shown}


@pytest.mark.parametrize(
    ("body", "changes"),
    [
        pytest.param({"Warntime": "5"}, {"warntime": 5}, id="warntime"),
        pytest.param({"debug": "3", "warntime": "5", "errtime": "10"},
                     {"debug": 3, "warntime": 5, "errtime": 10}, id="lower-case-keys"),
        pytest.param({"dEbUg": "1"}, {"debug": 1}, id="mixed-case-key"),
        pytest.param({"Debug": "1_0"}, {"debug": 10}, id="underscore"),
        pytest.param({"Debug": "0x10"}, {"debug": 16}, id="hex"),
        pytest.param({"Debug": "010"}, {"debug": 8}, id="octal"),
        pytest.param({"Nosm": "TRUE"}, {"nosm": True}, id="nosm-TRUE"),
        pytest.param({"Nosm": "off"}, {}, id="nosm-off-is-default"),
        pytest.param({"Use_telemetry": "No"}, {"use_telemetry": False}, id="use-telemetry-No"),
        pytest.param({"Telemetry_host": "h:9092:topic"}, {"telemetry_host": "h:9092:topic"},
                     id="telemetry-host"),
        pytest.param({"Interval": "2"}, {"interval": 2}, id="interval"),
        pytest.param({"Sm_url": "https://h/x"}, {"sm_url": "https://h/x"}, id="sm-url"),
        pytest.param({"Sm_timeout": "1"}, {"sm_timeout": 1}, id="sm-timeout"),
        pytest.param({"Sm_retries": "0"}, {"sm_retries": 0}, id="sm-retries-0"),
        pytest.param({"Warntime": "29"}, {"warntime": 29}, id="warntime-just-below-errtime"),
        pytest.param({"Errtime": "11"}, {"errtime": 11}, id="errtime-just-above-warntime"),
        pytest.param({"Warntime": "100", "Errtime": "200"}, {"warntime": 100, "errtime": 200},
                     id="both-moved-together"),
        pytest.param({"Port": "28500"}, {}, id="port-current"),
        pytest.param({"Port": "0x6F54"}, {}, id="port-current-hex"),
        pytest.param({"Kv_url": "mem:"}, {}, id="kv-url-current"),
        pytest.param({"Debug": ""}, {}, id="empty-means-unset"),
        pytest.param({"Debug": None}, {}, id="null-means-unset"),
        pytest.param({"Bogus": 5, "Other": [1]}, {}, id="unknown-keys"),
        pytest.param({}, {}, id="empty"),
        pytest.param(UPSTREAM_DEFAULTS, {}, id="the-whole-get-body"),
        pytest.param({"Debug": "1", "debug": "2"}, {"debug": 2}, id="last-duplicate-wins"),
    ],
)  # fmt: skip
def test_patched_applies(body: dict[str, Any], changes: dict[str, Any]) -> None:
    result = DEFAULT_PARAMS.patched(body)
    assert result == dataclasses.replace(DEFAULT_PARAMS, **changes)
    assert DEFAULT_PARAMS.to_json() == UPSTREAM_DEFAULTS  # the original never changes


def test_patched_null_returns_the_same_object() -> None:
    assert DEFAULT_PARAMS.patched(None) is DEFAULT_PARAMS


def test_patched_port_round_trips_a_non_default_port() -> None:
    params = Params(port=8080)
    assert params.patched({"Port": "8080"}).port == 8080
    assert detail_of(params, {"Port": "28500"}) == (
        "Parameter 'port' can't be changed in PATCH operation; "
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param([], "Invalid JSON data type", id="list"),
        pytest.param("Debug", "Invalid JSON data type", id="string"),
        pytest.param(5, "Invalid JSON data type", id="number"),
        pytest.param({"Errtime": 8}, "Invalid data type in Errtime field. ", id="number-value"),
        pytest.param({"errtime": 8}, "Invalid data type in Errtime field. ", id="mis-cased"),
        pytest.param({"Kv_url": False}, "Invalid data type in Kv_url field. ", id="bool-value"),
        pytest.param({"Sm_retries": 1, "Port": 2, "Debug": 3},
                     "Invalid data type in Debug field. ", id="first-in-struct-order"),
        pytest.param({"Port": 2, "Interval": 3}, "Invalid data type in Port field. ",
                     id="struct-order-port-before-interval"),
        pytest.param({"Errtime": "abc"}, "Parameter 'errtime' with illegal value 'abc'; ",
                     id="errtime-abc"),
        pytest.param({"Errtime": "-5"}, "Parameter 'errtime' with illegal value '-5'; ",
                     id="errtime-negative"),
        pytest.param({"Debug": "4294967296"}, "Parameter 'debug' with illegal value '4294967296'; ",
                     id="debug-overflow"),
        pytest.param({"Nosm": "maybe"}, "Parameter 'nosm' with illegal value 'maybe'; ",
                     id="nosm"),
        pytest.param({"Use_telemetry": "perhaps"},
                     "Parameter 'use_telemetry' with unknown value 'perhaps'; ",
                     id="use-telemetry"),
        pytest.param({"Telemetry_host": "a:b"},
                     "Parameter 'telemetry_host' with invalid format 'a:b'; ", id="telemetry-host"),
        pytest.param({"Port": "28501"}, "Parameter 'port' can't be changed in PATCH operation; ",
                     id="port"),
        pytest.param({"Kv_url": "http://etcd:2379"},
                     "Parameter 'kv_url' can't be changed in PATCH operation; ", id="kv-url"),
        pytest.param({"Sm_url": "ftp://h/x"}, "Parameter 'sm_url' with invalid URL 'ftp://h/x'; ",
                     id="sm-url-scheme"),
        pytest.param({"Sm_url": "http://" + "h" * 2048},
                     "Parameter 'sm_url' with invalid URL 'http://" + "h" * 2048 + "'; ",
                     id="sm-url-too-long"),
        pytest.param({"Warntime": "30"},
                     "Parameter 'errtime' (30) must be greater than warntime (30); ",
                     id="warntime-equal-errtime"),
        pytest.param({"Errtime": "5", "Warntime": "10"},
                     "Parameter 'errtime' (5) must be greater than warntime (10); ",
                     id="errtime-below-warntime"),
        pytest.param({"Warntime": "0"}, "Parameter 'warntime' must be at least 1, not 0; ",
                     id="warntime-zero"),
        pytest.param({"Warntime": "0", "Errtime": "0"},
                     "Parameter 'warntime' must be at least 1, not 0; "
                     "Parameter 'errtime' (0) must be greater than warntime (0); ",
                     id="both-zero"),
        pytest.param({"Interval": "0"}, "Parameter 'interval' must be at least 1, not 0; ",
                     id="interval-zero"),
        pytest.param({"Sm_timeout": "0"}, "Parameter 'sm_timeout' must be at least 1, not 0; ",
                     id="sm-timeout-zero"),
        pytest.param({"Sm_timeout": "0", "Debug": "x"},
                     "Parameter 'debug' with illegal value 'x'; ", id="values-before-cross-check"),
    ],
)  # fmt: skip
def test_patched_rejects(body: object, detail: str) -> None:
    assert detail_of(DEFAULT_PARAMS, body) == detail


def test_patched_fragments_follow_upstream_order() -> None:
    # JSON order puts Port before Interval; upstream's checks run Interval first.
    body = {key: "x" for key in reversed(list(UPSTREAM_DEFAULTS))}
    names = [
        fragment.split("'")[1] for fragment in detail_of(DEFAULT_PARAMS, body).split("; ")[:-1]
    ]
    assert names == [
        "debug",
        "nosm",
        "use_telemetry",
        "telemetry_host",
        "warntime",
        "errtime",
        "interval",
        "port",
        "kv_url",
        "sm_url",
        "sm_timeout",
        "sm_retries",
        "guard_share",
        "guard_min",
        "guard_hold",
        "reconcile_interval",
    ]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"warntime": 30}, id="errtime-equal"),
        pytest.param({"errtime": 5}, id="errtime-below"),
        pytest.param({"warntime": 0, "errtime": 1}, id="warntime-zero"),
        pytest.param({"interval": 0}, id="interval-zero"),
        pytest.param({"sm_timeout": 0}, id="sm-timeout-zero"),
    ],
)
def test_constructor_refuses_unworkable_sets(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Params(**changes)


def test_patched_result_is_frozen() -> None:
    result = DEFAULT_PARAMS.patched({"Debug": "1"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.debug = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("kafka:9092:cray-hmsheartbeat-notifications",
                     ("kafka", 9092, "cray-hmsheartbeat-notifications"), id="production"),
        pytest.param("10.2.3.4:9092:heartbeat_notifications",
                     ("10.2.3.4", 9092, "heartbeat_notifications"), id="ip"),
        pytest.param("h:65535:t", ("h", 65535, "t"), id="max-port"),
        pytest.param("", None, id="empty"),
        pytest.param("a:b", None, id="two-parts"),
        pytest.param("a:1:b:c", None, id="four-parts"),
        pytest.param("a:b:c", None, id="port-not-number"),
        pytest.param("a:0:c", None, id="port-zero"),
        pytest.param("a:65536:c", None, id="port-too-big"),
        pytest.param("a:-1:c", None, id="port-negative"),
        pytest.param(":9092:c", None, id="no-host"),
        pytest.param("a:9092:", None, id="no-topic"),
    ],
)  # fmt: skip
def test_parse_telemetry_host(text: str, parsed: tuple[str, int, str] | None) -> None:
    assert parse_telemetry_host(text) == parsed

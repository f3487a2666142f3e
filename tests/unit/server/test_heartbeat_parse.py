"""parse_heartbeat and decode_json_body: bytes in, a Heartbeat or upstream's detail out.

Upstream's heartbeat parsing (docs/api.md), with issue 3's deviations: Hostname and NID optional,
names normalized, the path xname validated.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hbtd_server.core import (
    MAX_FIELD_LENGTH,
    MAX_HEARTBEAT_BODY,
    Heartbeat,
    InvalidRequest,
    PayloadTooLarge,
    decode_json_body,
    parse_heartbeat,
)


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


FULL = {"Component": "x0c0s0b0n0", "Hostname": "nid000001", "NID": "1", "Status": "OK",
        "Timestamp": "2018-07-06T12:34:56.012345-5Z"}  # fmt: skip


def detail_of(raw: bytes, path_xname: str | None = None) -> str:
    with pytest.raises(InvalidRequest) as caught:
        parse_heartbeat(raw, path_xname=path_xname)
    assert type(caught.value) is InvalidRequest
    return caught.value.detail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(body(**FULL), Heartbeat("x0c0s0b0n0", "OK", FULL["Timestamp"]),
                     id="full"),
        pytest.param(body(Component="x0c0s0b0n0", Status="OK", TimeStamp="t"),
                     Heartbeat("x0c0s0b0n0", "OK", "t"), id="minimal-TimeStamp"),
        pytest.param(body(component="x0c0s0b0n0", status="S", timestamp="t", nid="0x1F"),
                     Heartbeat("x0c0s0b0n0", "S", "t"), id="lower-case-hex-nid"),
        pytest.param(body(Component="x0c0s00b0n05", Status="OK", Timestamp="t", NID="-5"),
                     Heartbeat("x0c0s0b0n5", "OK", "t"), id="normalized-negative-nid"),
        pytest.param(body(Component="x0c0s0b0n0", Status="OK", Timestamp="t", Hostname="",
                          NID=""), Heartbeat("x0c0s0b0n0", "OK", "t"), id="empty-optionals"),
        pytest.param(body(Component="x0c0s0b0n0", Status="Oops \u00e9\U0001f600", Timestamp="t"),
                     Heartbeat("x0c0s0b0n0", "Oops \u00e9\U0001f600", "t"), id="unicode-is-fine"),
        pytest.param(body(Component="x0c0s0b0n0", Status="s" * MAX_FIELD_LENGTH, Timestamp="t"),
                     Heartbeat("x0c0s0b0n0", "s" * MAX_FIELD_LENGTH, "t"), id="status-at-cap"),
    ],
)  # fmt: skip
def test_full_form_parses(raw: bytes, expected: Heartbeat) -> None:
    assert parse_heartbeat(raw) == expected


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        pytest.param(b"", "Invalid JSON data type", id="empty"),
        pytest.param(b"[]", "Invalid JSON data type", id="array"),
        pytest.param(b"{} x", "Invalid JSON data type", id="trailing"),
        pytest.param(b"null", "Missing Component field", id="null"),
        pytest.param(body(**{**FULL, "Component": 1234}), "Invalid data type in Component field",
                     id="component-number"),
        pytest.param(body(**{**FULL, "NID": 1}), "Invalid data type in NID field", id="nid-number"),
        pytest.param(body(**{**FULL, "component": 1234}), "Invalid data type in Component field",
                     id="mis-cased-wrong-type"),
        pytest.param(body(Hostname=1, Timestamp=2), "Invalid data type in Hostname field",
                     id="type-order"),
        pytest.param(body(**{**FULL, "Component": ""}), "Missing Component field",
                     id="empty-component"),
        pytest.param(body(Component="x0c0s0b0n0", Timestamp="t"), "Missing Status field",
                     id="no-status"),
        pytest.param(body(Component="x0c0s0b0n0", Status="OK"), "Missing Timestamp field",
                     id="no-timestamp"),
        pytest.param(body(**{**FULL, "Component": "X0C0S0B0N3"}), "Invalid Component Name",
                     id="upper-case"),
        pytest.param(body(**{**FULL, "Component": "xxyyzz"}), "Invalid Component Name",
                     id="not-an-xname"),
        pytest.param(body(**{**FULL, "Component": "all"}), "Invalid Component Name",
                     id="not-a-node"),  # #13: only nodes beat
        pytest.param(body(**{**FULL, "Timestamp": "\ud800"}),
                     "Invalid characters in Timestamp field", id="lone-surrogate"),
        pytest.param(body(**{**FULL, "Status": "\x00"}), "Invalid characters in Status field",
                     id="nul"),
        pytest.param(body(**{**FULL, "NID": "abc"}), "Invalid NID", id="nid-abc"),
        pytest.param(body(**{**FULL, "NID": "1" * 36}), "Invalid NID", id="nid-36-digits"),
        pytest.param(body(**{**FULL, "Status": "s" * (MAX_FIELD_LENGTH + 1)}),
                     f"Status field is longer than {MAX_FIELD_LENGTH} characters",
                     id="status-over-cap"),
        pytest.param(body(**{**FULL, "Hostname": "h" * (MAX_FIELD_LENGTH + 1)}),
                     f"Hostname field is longer than {MAX_FIELD_LENGTH} characters",
                     id="hostname-over-cap"),
    ],
)  # fmt: skip
def test_full_form_rejects(raw: bytes, detail: str) -> None:
    assert detail_of(raw) == detail


@pytest.mark.parametrize(
    ("path_xname", "raw", "expected"),
    [
        pytest.param("x0c0s0b0n0", body(Status="OK", Timestamp="t"),
                     Heartbeat("x0c0s0b0n0", "OK", "t"), id="plain"),
        pytest.param("X0C0S0B0N9", body(status="OK", TimeStamp="t"),
                     Heartbeat("x0c0s0b0n9", "OK", "t"), id="normalized"),
        pytest.param("x0c0s0b0n0", body(Status="OK", Timestamp="t", Component=5, NID="z"),
                     Heartbeat("x0c0s0b0n0", "OK", "t"), id="full-form-fields-ignored"),
    ],
)  # fmt: skip
def test_xname_form_parses(path_xname: str, raw: bytes, expected: Heartbeat) -> None:
    assert parse_heartbeat(raw, path_xname=path_xname) == expected


@pytest.mark.parametrize(
    ("path_xname", "raw", "detail"),
    [
        pytest.param("x0c0s0b0n1", body(Status="OK"), "Missing Timestamp field",
                     id="no-timestamp"),
        pytest.param("x0c0s0b0n1", body(Status=5, Timestamp="t"),
                     "Invalid data type in Status field", id="status-number"),
        pytest.param("x0c0s0b0n1", b"null", "Missing Status field", id="null"),
        pytest.param("garbage", body(Status="OK", Timestamp="t"), "Invalid Component Name",
                     id="garbage"),
        pytest.param("", body(Status="OK", Timestamp="t"), "Invalid Component Name",
                     id="empty-name"),
    ],
)  # fmt: skip
def test_xname_form_rejects(path_xname: str, raw: bytes, detail: str) -> None:
    assert detail_of(raw, path_xname) == detail


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        pytest.param(b'{"a":1}', 100, {"a": 1}, id="object"),
        pytest.param(b"null", 100, None, id="null"),
        pytest.param(b'  [1, "\xc3\xa9"] ', 100, [1, "\u00e9"], id="utf8-and-space"),
        pytest.param(b"1".ljust(100), 100, 1, id="exactly-at-limit"),
    ],
)
def test_decode_json_body(raw: bytes, limit: int, expected: object) -> None:
    assert decode_json_body(raw, limit=limit) == expected


@pytest.mark.parametrize(
    ("raw", "limit", "error", "detail"),
    [
        pytest.param(b"1".ljust(101), 100, PayloadTooLarge, "Request body is larger than 100 bytes",
                     id="over-limit"),
        pytest.param(b'"\xff"', 100, InvalidRequest, "Request body is not valid UTF-8",
                     id="not-utf8"),
        pytest.param(b'"\xed\xa0\x80"', 100, InvalidRequest, "Request body is not valid UTF-8",
                     id="encoded-surrogate"),
        pytest.param(b"[" * 5000, 10_000, InvalidRequest, "JSON is nested too deeply",
                     id="deep-unclosed"),
        pytest.param(b"[" * 5000 + b"]" * 5000, 10_000, InvalidRequest,
                     "JSON is nested too deeply", id="deep"),
        pytest.param(b"", 100, InvalidRequest, "Invalid JSON data type", id="empty"),
        pytest.param(b"\xef\xbb\xbf{}", 100, InvalidRequest, "Invalid JSON data type", id="bom"),
        pytest.param(b"NaN-", 100, InvalidRequest, "Invalid JSON data type", id="garbage"),
    ],
)  # fmt: skip
def test_decode_json_body_rejects(
    raw: bytes, limit: int, error: type[InvalidRequest], detail: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_json_body(raw, limit=limit)
    assert type(caught.value) is error
    assert caught.value.detail == detail
    assert caught.value.status_hint == (413 if error is PayloadTooLarge else 400)


def test_parse_heartbeat_caps_the_body() -> None:
    raw = body(**FULL).ljust(MAX_HEARTBEAT_BODY + 1)
    with pytest.raises(PayloadTooLarge):
        parse_heartbeat(raw)
    assert parse_heartbeat(body(**FULL).ljust(MAX_HEARTBEAT_BODY)).xname == "x0c0s0b0n0"


# -- the server's fast decoder changes nothing a client can see ------------------------------


def outcome(raw: bytes, path_xname: str | None, fast: bool) -> object:
    """The heartbeat, or the error's type and detail, parsed with or without orjson."""
    try:
        return parse_heartbeat(
            raw, path_xname=path_xname, fast_loads=orjson.loads if fast else None
        )
    except InvalidRequest as error:
        return type(error), error.detail


ODD_BODIES = [
    b'{"Status":"OK","TimeStamp":"t"}',
    b'{"Status":NaN,"TimeStamp":"t"}',
    b'{"Status":"OK","TimeStamp":"t","Extra":Infinity}',
    b'\xef\xbb\xbf{"Status":"OK","TimeStamp":"t"}',  # a UTF-8 BOM
    b'{"Status":"\\ud800","TimeStamp":"t"}',  # a lone surrogate
    b'{"Status":"O\\u0000K","TimeStamp":"t"}',
    b'{"Status":123456789012345678901234567890,"TimeStamp":"t"}',
    b'{"Status":"OK","TimeStamp":"t","NID":18446744073709551616}',
    b'{"Status":"OK","status":"late","TimeStamp":"t"}',  # case variants: the last one wins
    b'{"Status":"OK","TimeStamp":"t"} trailing',
    b'{"Status":"OK","TimeStamp":"t",}',
    b' \t\r\n{"Status" : "OK" , "TimeStamp" : "t"}\n',
    b'{"Status":"\xff","TimeStamp":"t"}',  # not UTF-8
    b"[" * 2000 + b"]" * 2000,
    b'{"Status":"caf\\u00e9 \xe2\x98\x83","TimeStamp":"t"}',
    b"null",
    b"",
]


@pytest.mark.parametrize("path_xname", [None, "x0c0s0b0n0"])
@pytest.mark.parametrize("raw", ODD_BODIES)
def test_orjson_then_the_standard_decoder_decide_alike(raw: bytes, path_xname: str | None) -> None:
    if path_xname is None and raw.startswith(b'{"Status"'):
        raw = raw.replace(b'{"Status"', b'{"Component":"x0c0s0b0n0","Status"', 1)
    assert outcome(raw, path_xname, fast=True) == outcome(raw, path_xname, fast=False)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
HEARTBEAT_LIKE = st.dictionaries(
    st.sampled_from(["Status", "status", "TimeStamp", "Timestamp", "NID", "Other"]), JSON_VALUES
).map(lambda document: json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode) | HEARTBEAT_LIKE)
def test_orjson_then_the_standard_decoder_decide_alike_on_any_bytes(raw: bytes) -> None:
    assert outcome(raw, "x0c0s0b0n0", fast=True) == outcome(raw, "x0c0s0b0n0", fast=False)


def test_path_names_are_judged_alike_however_often_they_come() -> None:
    # Checked path names are remembered: the answer must not depend on having seen one before.
    beat = body(Status="OK", Timestamp="t")
    padded = "x" + "0" * 60 + "1000c0s0b0n0"  # 73 characters, a node once its zeros go
    too_long = "x1000c0s0b0n" + "0" * 120  # would normalise to a node, but is over 128
    for _ in range(3):
        assert parse_heartbeat(beat, path_xname=padded).xname == "x1000c0s0b0n0"
        assert detail_of(beat, "x1000c0s0b0") == "Invalid Component Name"  # a BMC, not a node
        assert detail_of(beat, too_long) == "Invalid Component Name"
        # the path form is normalised as HSM does (trimmed, lower case), then checked
        assert parse_heartbeat(beat, path_xname="X1000C0S0B0N0 ").xname == "x1000c0s0b0n0"

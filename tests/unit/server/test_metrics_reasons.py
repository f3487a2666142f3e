"""Every way a heartbeat can be refused has a reason of its own, decided where it is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hbtd_server.core import (
    ComponentLimit,
    HbtdError,
    InvalidRequest,
    PayloadTooLarge,
    Rejection,
    parse_heartbeat,
)

_FIELDS = st.sampled_from(["Component", "component", "Status", "TimeStamp", "NID", "Hostname"])
_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=300),
    st.sampled_from(["x1000c0s0b0n0", "OK", "0x12", "", "Shutdown"]),
)
_BODIES = st.one_of(
    st.binary(max_size=64),
    st.dictionaries(_FIELDS, _VALUES).map(lambda d: json.dumps(d).encode()),
    st.recursive(st.none(), lambda inner: st.lists(inner)).map(lambda v: json.dumps(v).encode()),
)
_METRICS_DOC = Path(__file__).parents[3] / "docs" / "metrics.md"


@settings(max_examples=300, deadline=None)
@given(body=_BODIES, path_xname=st.one_of(st.none(), st.sampled_from(["x1000c0s0b0n0", "bad"])))
def test_no_refusal_is_left_as_other(body: bytes, path_xname: str | None) -> None:
    refusal: HbtdError | None = None
    try:
        parse_heartbeat(body, path_xname=path_xname)
    except HbtdError as error:
        refusal = error
    if refusal is not None:
        assert isinstance(refusal.reason, Rejection)
        assert refusal.reason is not Rejection.OTHER, refusal.detail


def test_each_refusal_says_its_own_reason() -> None:
    cases = {
        b"\xff": Rejection.NOT_UTF8,
        b"[": Rejection.INVALID_JSON,
        b'{"Component": 5}': Rejection.WRONG_FIELD_TYPE,
        json.dumps({"Status": "x" * 300}).encode(): Rejection.FIELD_TOO_LONG,
        b'{"Status": "OK", "Timestamp": "t"}': Rejection.MISSING_COMPONENT,
        b'{"Component": "x0c0s0b0n0", "Timestamp": "t"}': Rejection.MISSING_STATUS,
        b'{"Component": "x0c0s0b0n0", "Status": "OK"}': Rejection.MISSING_TIMESTAMP,
        b'{"Component": "s0", "Status": "OK", "Timestamp": "t"}': Rejection.INVALID_XNAME,
        b'{"Component": "x0c0s0b0n0", "Status": "OK", "Timestamp": "t", "NID": "z"}': (
            Rejection.INVALID_NID
        ),
        b'{"Component": "x0c0s0b0n0", "Status": "O\\u0000", "Timestamp": "t"}': (
            Rejection.INVALID_CHARACTERS
        ),
        b" " * 20_000: Rejection.TOO_LARGE,
    }
    for body, reason in cases.items():
        with pytest.raises(HbtdError) as refused:
            parse_heartbeat(body)
        assert refused.value.reason is reason, (body[:40], refused.value.detail)


def test_error_classes_carry_their_reason_and_others_are_other() -> None:
    assert PayloadTooLarge("too big").reason is Rejection.TOO_LARGE
    assert ComponentLimit("full").reason is Rejection.COMPONENT_LIMIT
    # A label never carries client text, whatever a future error says.
    assert InvalidRequest("something new: <client text>").reason is Rejection.OTHER


def test_the_metrics_page_lists_every_reason() -> None:
    row = next(
        line for line in _METRICS_DOC.read_text().splitlines() if "hbtd_heartbeats_rejected" in line
    )
    assert set(re.findall(r"`([a-z_0-9]+)`", row)) >= {reason.value for reason in Rejection}

"""Every way a heartbeat can be refused has a reason label of its own (#8)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hbtd_server.core import HbtdError, InvalidRequest, parse_heartbeat
from hbtd_server.ops import HEARTBEAT_REJECTION_REASONS, heartbeat_rejection_reason

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


@settings(max_examples=300, deadline=None)
@given(body=_BODIES, path_xname=st.one_of(st.none(), st.sampled_from(["x1000c0s0b0n0", "bad"])))
def test_no_refusal_is_left_as_other(body: bytes, path_xname: str | None) -> None:
    refusal: HbtdError | None = None
    try:
        parse_heartbeat(body, path_xname=path_xname)
    except HbtdError as error:
        refusal = error
    if refusal is not None:
        reason = heartbeat_rejection_reason(refusal)
        assert reason in HEARTBEAT_REJECTION_REASONS
        assert reason != "other", refusal.detail


def test_unknown_details_fall_back_to_other() -> None:
    # A label never carries client text, whatever a future error says.
    assert heartbeat_rejection_reason(InvalidRequest("something new: <client text>")) == "other"

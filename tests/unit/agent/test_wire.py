from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hb_agent._errors import IdentityError
from hb_agent._wire import format_timestamp, heartbeat_request, parse_params, tracker_base


@pytest.mark.parametrize(
    ("url", "base"),
    [
        (
            "https://api-gw-service-nmn.local/apis/hbtd/hmi/v1/heartbeat",
            "https://api-gw-service-nmn.local/apis/hbtd/hmi/v1",
        ),
        ("https://10.2.100.50/apis/hbtd/hmi/v1/heartbeat/", "https://10.2.100.50/apis/hbtd/hmi/v1"),
        ("http://host:28500/hmi/v1", "http://host:28500/hmi/v1"),
        ("  http://host:28500/hmi/v1/  ", "http://host:28500/hmi/v1"),
        # Only the address, as `hb-sim watch --target` takes it (#15).
        ("http://host:28500", "http://host:28500/hmi/v1"),
        ("http://host:28500/", "http://host:28500/hmi/v1"),
        ("https://hbtd.local/heartbeat", "https://hbtd.local/hmi/v1"),
    ],
)
def test_tracker_base_strips_the_heartbeat_path(url: str, base: str) -> None:
    assert tracker_base(url) == base


@pytest.mark.parametrize("url", ["ftp://host/hmi/v1", "host:28500/hmi/v1", "http:///hmi/v1", ""])
def test_tracker_base_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(IdentityError, match="not an http") as refused:
        tracker_base(url)
    assert "expected http://HOST:PORT, the API base http://HOST:PORT/hmi/v1" in str(refused.value)


def test_timestamp_has_microseconds_and_offset() -> None:
    moment = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-11-25T09:30:00.000000+00:00"
    east = moment.astimezone(timezone(timedelta(hours=-5)))
    assert format_timestamp(east) == "2026-11-25T04:30:00.000000-05:00"


def test_timestamp_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="offset"):
        format_timestamp(datetime(2026, 11, 25, 9, 30))


def test_xname_form() -> None:
    request = heartbeat_request(
        base="http://h/hmi/v1", xname="x1c0s0b0n0", status="OK", timestamp="T", nid=3
    )
    assert request.url == "http://h/hmi/v1/heartbeat/x1c0s0b0n0"
    assert request.body == {"Status": "OK", "TimeStamp": "T"}


def test_full_form_carries_component_hostname_and_nid_as_text() -> None:
    request = heartbeat_request(
        base="http://h/hmi/v1",
        xname="x1c0s0b0n0",
        status="OK",
        timestamp="T",
        full_form=True,
        hostname="nid000003",
        nid=3,
    )
    assert request.url == "http://h/hmi/v1/heartbeat"
    assert request.body == {
        "Component": "x1c0s0b0n0",
        "Hostname": "nid000003",
        "NID": "3",
        "Status": "OK",
        "TimeStamp": "T",
    }


def test_full_form_leaves_out_unknown_fields() -> None:
    request = heartbeat_request(
        base="http://h/hmi/v1", xname="x1c0s0b0n0", status="OK", timestamp="T", full_form=True
    )
    assert set(request.body) == {"Component", "Status", "TimeStamp"}


def test_params_are_read_from_strings_and_numbers() -> None:
    params = parse_params({"Warntime": "10", "Errtime": 30, "Interval": "5", "Port": "28500"})
    assert (params.warntime, params.errtime, params.interval) == (10.0, 30.0, 5.0)


@pytest.mark.parametrize(
    "data", [None, [], "x", {"Warntime": "ten"}, {"Warntime": "-1"}, {"Warntime": True}]
)
def test_unreadable_params_become_none(data: object) -> None:
    assert parse_params(data).warntime is None


def test_params_reject_non_finite_numbers() -> None:
    assert parse_params({"Warntime": "inf", "Errtime": "nan"}).warntime is None
    assert parse_params({"Warntime": "inf", "Errtime": "nan"}).errtime is None

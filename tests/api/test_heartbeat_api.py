"""POST /hmi/v1/heartbeat and /hmi/v1/heartbeat/{xname}: answers, details, and what is tracked.

Upstream HBTD's heartbeat behaviour (docs/api.md), with the documented deviations: Hostname
and NID are optional (the API document), names are normalized when stored, and the path xname
is validated (upstream's item 11 is not copied).
"""

from __future__ import annotations

import httpx
import pytest

from hbtd_server.core import DEFAULT_PARAMS, MAX_HEARTBEAT_BODY, Kind
from hbtd_server.engine import Engine
from hbtd_server.http import create_quart_app
from hbtd_server.http._app import MAX_REQUEST_BODY
from tests.api.conftest import (
    API,
    PROBLEM_JSON,
    ManualClock,
    hb_body,
    make_client,
    make_lean_client,
    problem,
)

FULL = f"{API}/heartbeat"
GOOD = {"Component": "x0c0s0b0n0", "Hostname": "h", "NID": "1", "Status": "OK", "Timestamp": "t"}


def bad_heartbeat(detail: str) -> bytes:
    return problem(400, "Invalid Request", detail, FULL)


def assert_ok_empty(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers


# -- success ---------------------------------------------------------------------------------


async def test_full_form_success_is_200_empty_no_content_type(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    response = await client.post(FULL, content=hb_body(**GOOD))
    assert_ok_empty(response)
    assert engine.view("x0c0s0b0n0") is not None
    assert engine.books.wanted("x0c0s0b0n0") is Kind.STARTED


async def test_xname_form_success_is_200_empty_no_content_type(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    response = await client.post(f"{FULL}/x0c0s0b0n1", content=hb_body(Status="OK", Timestamp="t"))
    assert_ok_empty(response)
    assert engine.view("x0c0s0b0n1") is not None


@pytest.mark.parametrize(
    ("body", "stored_as"),
    [
        pytest.param(hb_body(Component="x0c0s0b0n0", Status="OK", Timestamp="t"), "x0c0s0b0n0",
                     id="hostname-and-nid-optional"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Hostname="", NID="", Status="OK",
                             Timestamp="t"), "x0c0s0b0n0", id="empty-hostname-and-nid"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Hostname=None, NID=None, Status="OK",
                             Timestamp="t"), "x0c0s0b0n0", id="null-hostname-and-nid"),
        pytest.param(hb_body(component="x0c0s0b0n0", hostname="h", nid="1", status="OK",
                             timestamp="t"), "x0c0s0b0n0", id="lower-case-keys"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Status="OK", TimeStamp="t"), "x0c0s0b0n0",
                     id="TimeStamp-spelling"),
        pytest.param(hb_body(COMPONENT="x0c0s0b0n0", STATUS="OK", TIMESTAMP="t"), "x0c0s0b0n0",
                     id="upper-case-keys"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Status="OK", Timestamp="t", Extra=[1, {}]),
                     "x0c0s0b0n0", id="unknown-keys-ignored"),
        pytest.param(hb_body(Component="x0c0s00b0n5", Status="OK", Timestamp="t"), "x0c0s0b0n5",
                     id="leading-zero-accepted-and-normalized"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="-5", Status="OK", Timestamp="t"),
                     "x0c0s0b0n0", id="nid-negative"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="0x1F", Status="OK", Timestamp="t"),
                     "x0c0s0b0n0", id="nid-hex"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="+5", Status="OK", Timestamp="t"),
                     "x0c0s0b0n0", id="nid-plus"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="017", Status="OK", Timestamp="t"),
                     "x0c0s0b0n0", id="nid-octal"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="0b101", Status="OK", Timestamp="t"),
                     "x0c0s0b0n0", id="nid-binary"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="1_000", Status="OK", Timestamp="t"),
                     "x0c0s0b0n0", id="nid-underscore"),
        pytest.param(hb_body(Component="x0c0s0b0n0", NID="-9223372036854775808", Status="OK",
                             Timestamp="t"), "x0c0s0b0n0", id="nid-int64-min"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Status="Kernel Oops", Timestamp="not a time"),
                     "x0c0s0b0n0", id="free-text-status-and-timestamp"),
        pytest.param(b'{"Component":"x0c0s0b0n9","Component":"x0c0s0b0n0","Status":"OK",'
                     b'"Timestamp":"t"}', "x0c0s0b0n0", id="duplicate-key-last-wins"),
        pytest.param(b' \n{"Component":"x0c0s0b0n0","Status":"OK","Timestamp":"t"}\n ',
                     "x0c0s0b0n0", id="surrounding-whitespace"),
    ],
)  # fmt: skip
async def test_full_form_accepts(
    client: httpx.AsyncClient, engine: Engine, body: bytes, stored_as: str
) -> None:
    response = await client.post(FULL, content=body)
    assert_ok_empty(response)
    assert [view.xname for view in engine.views()] == [stored_as]


# -- full-form validation: details and precedence (items 4-8, 10) ---------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        # Item 6: not a JSON object.
        pytest.param(b"", "Invalid JSON data type", id="empty-body"),
        pytest.param(b"[]", "Invalid JSON data type", id="array"),
        pytest.param(b'"x0c0s0b0n0"', "Invalid JSON data type", id="string"),
        pytest.param(b"42", "Invalid JSON data type", id="number"),
        pytest.param(b"true", "Invalid JSON data type", id="bool"),
        pytest.param(hb_body(**GOOD) + b"x", "Invalid JSON data type", id="trailing-garbage"),
        pytest.param(hb_body(**GOOD) + b"{}", "Invalid JSON data type", id="two-documents"),
        pytest.param(b'{"Component":"x0c0s0b0n0",', "Invalid JSON data type", id="truncated"),
        pytest.param(b"{'Component':'x0c0s0b0n0'}", "Invalid JSON data type", id="single-quotes"),
        pytest.param(b"null", "Missing Component field", id="null-body"),
        # Item 5: a field of the wrong JSON type, checked in field order before anything else.
        pytest.param(hb_body(**{**GOOD, "Component": 1234}), "Invalid data type in Component field",
                     id="component-number"),
        pytest.param(hb_body(**{**GOOD, "Hostname": 7}), "Invalid data type in Hostname field",
                     id="hostname-number"),
        pytest.param(hb_body(**{**GOOD, "NID": 83}), "Invalid data type in NID field",
                     id="nid-number"),
        pytest.param(hb_body(**{**GOOD, "Status": True}), "Invalid data type in Status field",
                     id="status-bool"),
        pytest.param(hb_body(**{**GOOD, "Timestamp": {}}), "Invalid data type in Timestamp field",
                     id="timestamp-object"),
        pytest.param(hb_body(Component=1, Status=2), "Invalid data type in Component field",
                     id="type-errors-in-field-order"),
        pytest.param(hb_body(Status=5), "Invalid data type in Status field",
                     id="type-error-before-missing-component"),
        # Item 4: missing fields, Component then Status then Timestamp.
        pytest.param(b"{}", "Missing Component field", id="empty-object"),
        pytest.param(hb_body(**{**GOOD, "Component": ""}), "Missing Component field",
                     id="empty-component"),
        pytest.param(hb_body(**{**GOOD, "Component": None}), "Missing Component field",
                     id="null-component"),
        pytest.param(hb_body(Status="OK", Timestamp="t"), "Missing Component field",
                     id="component-first"),
        pytest.param(hb_body(Component="xxyyzz"), "Missing Status field",
                     id="missing-status-before-bad-name"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Timestamp="t"), "Missing Status field",
                     id="missing-status"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Status=""), "Missing Status field",
                     id="empty-status"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Status="OK"), "Missing Timestamp field",
                     id="missing-timestamp"),
        pytest.param(hb_body(Component="x0c0s0b0n0", Status="OK", Timestamp=""),
                     "Missing Timestamp field", id="empty-timestamp"),
        # Item 7: the name exactly as sent must be an HMS xname.
        pytest.param(hb_body(**{**GOOD, "Component": "xxyyzz"}), "Invalid Component Name",
                     id="not-an-xname"),
        pytest.param(hb_body(**{**GOOD, "Component": "X0C0S0B0N3"}), "Invalid Component Name",
                     id="upper-case-name"),
        pytest.param(hb_body(**{**GOOD, "Component": " x0c0s0b0n0"}), "Invalid Component Name",
                     id="padded-name"),
        pytest.param(hb_body(**{**GOOD, "Component": "x0c8s0b0n0"}), "Invalid Component Name",
                     id="chassis-8"),
        pytest.param(hb_body(**{**GOOD, "Component": "x10000c0s0b0n0"}), "Invalid Component Name",
                     id="cabinet-5-digits"),
        pytest.param(hb_body(**{**GOOD, "Component": "ncnw001"}), "Invalid Component Name",
                     id="ncn-hostname"),
        pytest.param(hb_body(**{**GOOD, "Component": "xxyyzz", "NID": "abc"}),
                     "Invalid Component Name", id="name-before-nid"),
        # #13: only nodes beat; other HMS types were tracked and sent to HSM.
        *[pytest.param(hb_body(**{**GOOD, "Component": name}), "Invalid Component Name",
                       id=f"not-a-node-{name}")
          for name in ("s0", "all", "all_comp", "p1", "p1.2", "sms1", "x3000", "x0c0s0b0",
                       "x0c0s0b0n0v3", "x0c0s0b0n0p0", "d0", "x0c0")],
        # #13: NUL or a lone surrogate in a string.
        pytest.param(hb_body(**{**GOOD, "Status": "OK\u0000"}),
                     "Invalid characters in Status field", id="nul-in-status"),
        pytest.param(b'{"Component":"x0c0s0b0n0","Status":"OK","Timestamp":"\\ud800"}',
                     "Invalid characters in Timestamp field", id="lone-surrogate-in-timestamp"),
        pytest.param(b'{"Component":"x0c0s0b0n0","Status":"\\udfff x","Timestamp":"t"}',
                     "Invalid characters in Status field", id="lone-low-surrogate-in-status"),
        pytest.param(b'{"Component":"x0c0s0b0n0","Hostname":"h\\u0000","Status":"OK",'
                     b'"Timestamp":"t"}', "Invalid characters in Hostname field",
                     id="nul-in-hostname"),
        # Item 8: a NID that is given must be a Go ParseInt(s, 0, 64) integer.
        pytest.param(hb_body(**{**GOOD, "NID": "abc"}), "Invalid NID", id="nid-abc"),
        pytest.param(hb_body(**{**GOOD, "NID": "1" * 27}), "Invalid NID", id="nid-27-digits"),
        pytest.param(hb_body(**{**GOOD, "NID": "9223372036854775808"}), "Invalid NID",
                     id="nid-int64-overflow"),
        pytest.param(hb_body(**{**GOOD, "NID": "5.0"}), "Invalid NID", id="nid-float"),
        pytest.param(hb_body(**{**GOOD, "NID": " 5"}), "Invalid NID", id="nid-leading-space"),
        pytest.param(hb_body(**{**GOOD, "NID": "5 "}), "Invalid NID", id="nid-trailing-space"),
        pytest.param(hb_body(**{**GOOD, "NID": "08"}), "Invalid NID", id="nid-bad-octal"),
        pytest.param(hb_body(**{**GOOD, "NID": "1__0"}), "Invalid NID", id="nid-double-underscore"),
    ],
)  # fmt: skip
async def test_full_form_rejects(
    client: httpx.AsyncClient, engine: Engine, body: bytes, detail: str
) -> None:
    response = await client.post(FULL, content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    # Item 10: the whole body, byte for byte, instance without any xname.
    assert response.content == bad_heartbeat(detail)
    assert engine.tracked == 0
    assert not engine.books.has_work()


# -- xname form (items 11, 12) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path_xname", "stored_as"),
    [
        pytest.param("x0c0s0b0n1", "x0c0s0b0n1", id="plain"),
        pytest.param("X0C0S0B0N9", "x0c0s0b0n9", id="upper-case-normalized"),
        pytest.param("x0001c00s05b0n0", "x1c0s5b0n0", id="leading-zeros-normalized"),
        pytest.param("%20x0c0s0b0n0%20", "x0c0s0b0n0", id="padded-trimmed"),
    ],
)
async def test_xname_form_validates_and_normalizes_the_path(
    client: httpx.AsyncClient, engine: Engine, path_xname: str, stored_as: str
) -> None:
    response = await client.post(
        f"{FULL}/{path_xname}", content=hb_body(Status="OK", Timestamp="t")
    )
    assert_ok_empty(response)
    assert [view.xname for view in engine.views()] == [stored_as]


@pytest.mark.parametrize(
    ("path_xname", "body", "detail"),
    [
        # Item 11 (not copied): upstream stores any path string; we refuse non-xnames.
        pytest.param("garbage", hb_body(Status="OK", Timestamp="t"), "Invalid Component Name",
                     id="garbage-path"),
        pytest.param("ncnw001", hb_body(Status="OK", Timestamp="t"), "Invalid Component Name",
                     id="ncn-hostname-path"),
        pytest.param("x0c8s0b0n0", hb_body(Status="OK", Timestamp="t"), "Invalid Component Name",
                     id="chassis-8-path"),
        pytest.param("x" * 200, hb_body(Status="OK", Timestamp="t"), "Invalid Component Name",
                     id="overlong-path"),
        # #13: only nodes beat.
        *[pytest.param(name, hb_body(Status="OK", Timestamp="t"), "Invalid Component Name",
                       id=f"not-a-node-{name}")
          for name in ("s0", "all", "all_comp", "p1", "sms1", "x0c0s0b0n0v4", "x1000c0s0b0")],
        pytest.param("x0c0s0b0n1", b'{"Status":"OK\\u0000","Timestamp":"t"}',
                     "Invalid characters in Status field", id="nul-in-status"),
        pytest.param("x0c0s0b0n1", b'{"Status":"OK","Timestamp":"\\ud83d"}',
                     "Invalid characters in Timestamp field", id="lone-surrogate"),
        # Item 12.
        pytest.param("x0c0s0b0n1", hb_body(Status="OK"), "Missing Timestamp field",
                     id="missing-timestamp"),
        pytest.param("x0c0s0b0n1", hb_body(Status=5, Timestamp="t"),
                     "Invalid data type in Status field", id="status-number"),
        pytest.param("x0c0s0b0n1", hb_body(Timestamp="t"), "Missing Status field",
                     id="missing-status"),
        pytest.param("x0c0s0b0n1", hb_body(Status="OK", Timestamp=1),
                     "Invalid data type in Timestamp field", id="timestamp-number"),
        pytest.param("x0c0s0b0n1", b"null", "Missing Status field", id="null-body"),
        pytest.param("x0c0s0b0n1", b"", "Invalid JSON data type", id="empty-body"),
        pytest.param("x0c0s0b0n1", b"[]", "Invalid JSON data type", id="array-body"),
        # The body is checked before the path name.
        pytest.param("garbage", hb_body(Status="OK"), "Missing Timestamp field",
                     id="body-before-path"),
    ],
)  # fmt: skip
async def test_xname_form_rejects(
    client: httpx.AsyncClient, engine: Engine, path_xname: str, body: bytes, detail: str
) -> None:
    response = await client.post(f"{FULL}/{path_xname}", content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == bad_heartbeat(detail)
    assert engine.tracked == 0


async def test_xname_form_ignores_component_fields_in_body(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    # Only Status and Timestamp belong to this form; a Component in the body is not a name.
    body = hb_body(Component=1234, NID="abc", Status="OK", Timestamp="t")
    response = await client.post(f"{FULL}/x0c0s0b0n2", content=body)
    assert_ok_empty(response)
    assert [view.xname for view in engine.views()] == ["x0c0s0b0n2"]


# -- both forms name the same component ------------------------------------------------------


async def test_both_forms_and_spellings_share_one_record(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    first = await client.post(
        FULL, content=hb_body(Component="x0c0s00b0n5", Status="OK", Timestamp="t1")
    )
    clock.advance(1.0)
    second = await client.post(f"{FULL}/X0C0S0B0N5", content=hb_body(Status="OK", Timestamp="t2"))
    assert (first.status_code, second.status_code) == (200, 200)
    [view] = engine.views()
    assert (view.xname, view.sender_timestamp, view.last_heartbeat) == ("x0c0s0b0n5", "t2", 1001.0)
    assert engine.transitions_total == {Kind.STARTED: 1}


async def test_repeat_heartbeat_is_200_and_reports_nothing_new(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    for _ in range(3):
        response = await client.post(FULL, content=hb_body(**GOOD))
        assert response.status_code == 200
        clock.advance(3.0)
    assert engine.transitions_total == {Kind.STARTED: 1}
    assert engine.heartbeats_accepted == 3


async def test_heartbeat_from_component_in_warning_is_restarted(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    await client.post(FULL, content=hb_body(**GOOD))
    clock.advance(engine.params.warntime)
    engine.detect()
    assert engine.books.wanted("x0c0s0b0n0") is Kind.WARNING
    response = await client.post(FULL, content=hb_body(**GOOD))
    assert response.status_code == 200
    assert engine.books.wanted("x0c0s0b0n0") is Kind.RESTARTED


async def test_shutdown_from_a_node_in_warning_does_not_suppress_its_alert(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    # #13: one unauthenticated request for a node already silent must not forget it.
    name = "x0c0s0b0n0"
    await client.post(f"{FULL}/{name}", content=hb_body(Status="OK", Timestamp="t"))
    clock.advance(engine.params.warntime)
    engine.detect()
    shutdown = await client.post(
        f"{FULL}/{name}", content=hb_body(Status="Shutdown", Timestamp="t")
    )
    assert shutdown.status_code == 200
    assert engine.books.wanted(name) is Kind.RESTARTED  # counted as a heartbeat
    clock.advance(engine.params.errtime)
    engine.detect()
    assert engine.books.wanted(name) is Kind.DEAD  # the Alert still comes


async def test_shutdown_from_a_live_node_is_honoured(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    name = "x0c0s0b0n0"
    await client.post(f"{FULL}/{name}", content=hb_body(Status="OK", Timestamp="t"))
    clock.advance(1)
    await client.post(f"{FULL}/{name}", content=hb_body(Status="Shutdown", Timestamp="t"))
    assert engine.view(name) is None
    clock.advance(engine.params.errtime)
    engine.detect()
    assert engine.books.wanted(name) is Kind.STARTED  # no warning, no alert


async def test_heartbeat_after_death_is_started_again(
    client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    await client.post(FULL, content=hb_body(**GOOD))
    clock.advance(engine.params.warntime)
    engine.detect()
    clock.advance(engine.params.errtime)
    engine.detect()
    assert engine.view("x0c0s0b0n0") is None
    await client.post(FULL, content=hb_body(**GOOD))
    assert engine.transitions_total == {Kind.STARTED: 2, Kind.WARNING: 1, Kind.DEAD: 1}
    assert engine.books.wanted("x0c0s0b0n0") is Kind.STARTED


# -- the inline routes and the Quart app give the same answers--------------------------------
# Both call answer_heartbeat; what can still differ is routing (which paths and methods are
# heartbeats) and framing (status line, headers), so the two stacks are compared on the wire.

PARITY_REQUESTS: list[tuple[str, str, bytes]] = [
    ("POST", FULL, hb_body(**GOOD)),
    ("POST", FULL, hb_body(**GOOD)),  # a repeat
    ("POST", FULL, hb_body(component="X0C0S0B0N3", status="OK", timestamp="t")),
    ("POST", FULL, hb_body(Component="x0c0s00b0n5", Status="OK", TimeStamp="t")),
    ("POST", FULL, b""),
    ("POST", FULL, b"null"),
    ("POST", FULL, b"[]"),
    ("POST", FULL, b"\xff"),
    ("POST", FULL, b"[" * 3000 + b"]" * 3000),
    ("POST", FULL, hb_body(**{**GOOD, "Component": 1234})),
    ("POST", FULL, hb_body(**{**GOOD, "NID": "abc"})),
    ("POST", FULL, hb_body(Component="x0c0s0b0n0", Status="OK")),
    ("POST", FULL, b"{}".ljust(MAX_HEARTBEAT_BODY + 1, b" ")),
    ("POST", FULL, b"{}".ljust(MAX_REQUEST_BODY + 1, b" ")),
    ("POST", f"{FULL}/x0c0s0b0n1", hb_body(Status="OK", Timestamp="t")),
    ("POST", f"{FULL}/X0C0S0B0N9", hb_body(status="OK", TimeStamp="t")),
    ("POST", f"{FULL}/garbage", hb_body(Status="OK", Timestamp="t")),
    ("POST", f"{FULL}/x0c0s0b0n1", hb_body(Status="OK")),
    ("POST", f"{FULL}/x0c0s0b0n1", hb_body(Status=5, Timestamp="t")),
    ("POST", f"{FULL}/x0c0s0b0n1", b"{}".ljust(MAX_HEARTBEAT_BODY + 1, b" ")),
    ("POST", f"{FULL}/s0", hb_body(Status="OK", Timestamp="t")),
    ("POST", FULL, hb_body(Component="all", Status="OK", Timestamp="t")),
    ("POST", f"{FULL}/x0c0s0b0n1", b'{"Status":"OK\\u0000","Timestamp":"t"}'),
    ("POST", FULL, b'{"Component":"x0c0s0b0n0","Status":"OK","Timestamp":"\\ud800"}'),
    ("POST", f"{FULL}/", hb_body(Status="OK", Timestamp="t")),
    ("POST", f"{FULL}/x0c0s0b0n1/x", hb_body(Status="OK", Timestamp="t")),
    ("GET", FULL, b""),
    ("PUT", f"{FULL}/x0c0s0b0n1", hb_body(Status="OK", Timestamp="t")),
]


async def replay(http: httpx.AsyncClient) -> list[tuple[int, str | None, bytes]]:
    answers = []
    async with http:
        for method, path, body in PARITY_REQUESTS:
            response = await http.request(method, path, content=body)
            answers.append(
                (response.status_code, response.headers.get("content-type"), response.content)
            )
    return answers


async def test_inline_routes_and_quart_app_answer_identically() -> None:
    fast_engine = Engine(DEFAULT_PARAMS, clock=ManualClock())
    quart_engine = Engine(DEFAULT_PARAMS, clock=ManualClock())
    fast = await replay(make_lean_client(fast_engine, create_quart_app(fast_engine)))
    plain = await replay(make_client(create_quart_app(quart_engine)))
    for request, via_fast, via_quart in zip(PARITY_REQUESTS, fast, plain, strict=True):
        assert via_fast == via_quart, request[:2]
    assert sorted(v.xname for v in fast_engine.views()) == sorted(
        v.xname for v in quart_engine.views()
    )
    assert fast_engine.transitions_total == quart_engine.transitions_total
    # The table exercises successes and failures alike.
    assert {status for status, _, _ in fast} == {200, 400, 404, 405, 413}

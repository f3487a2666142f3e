"""Wrong methods, unknown paths and bad input: RFC 7807 answers, never a 500, still serving.

Checklist items 13 and 14 are answered the sensible way: every wrong method is a 405 with an
``Allow`` header and a problem body carrying upstream's in-handler details (1.2), and every
unknown path is a 404 problem. Issue 3 adds the caps: 413 for big bodies, 400 for non-UTF-8 or
deeply nested JSON.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio

from hbtd_server.core import MAX_HEARTBEAT_BODY
from hbtd_server.engine import Engine
from hbtd_server.http import create_quart_app
from hbtd_server.http._app import MAX_PARAMS_BODY, MAX_REQUEST_BODY
from tests.api.conftest import API, PROBLEM_JSON, hb_body, problem

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
GOOD_HEARTBEAT = hb_body(Component="x0c0s0b0n0", Status="OK", Timestamp="t")

# path -> (allowed methods, upstream's in-handler detail)
ROUTES: dict[str, tuple[frozenset[str], str]] = {
    f"{API}/heartbeat": (frozenset({"POST"}), "Only POST operations supported"),
    f"{API}/heartbeat/x0c0s0b0n0": (frozenset({"POST"}), "Only POST operations supported"),
    f"{API}/params": (frozenset({"GET", "PATCH"}), "Only PATCH and GET operations supported"),
    f"{API}/hbstates": (frozenset({"POST"}), "Only POST operations supported"),
    f"{API}/hbstate/x0c0s0b0n0": (frozenset({"GET"}), "Only GET operation supported"),
    f"{API}/health": (frozenset({"GET"}), "Only GET operation supported"),
    f"{API}/liveness": (frozenset({"GET"}), "Only GET operation supported"),
    f"{API}/readiness": (frozenset({"GET"}), "Only GET operation supported"),
}
WRONG_METHODS = [
    pytest.param(path, method, id=f"{method}-{path.removeprefix(API + '/')}")
    for path, (allowed, _) in ROUTES.items()
    for method in ALL_METHODS
    # HEAD is GET without a body, so it is allowed wherever GET is.
    if method not in allowed and not (method == "HEAD" and "GET" in allowed)
]


def allow_set(header: str) -> set[str]:
    return {method.strip() for method in header.split(",")}


async def assert_still_serving(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/liveness")).status_code == 204
    assert (await client.post(f"{API}/heartbeat", content=GOOD_HEARTBEAT)).status_code == 200
    assert (await client.get(f"{API}/params")).status_code == 200


# -- 405 (items 13, 14) -----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "method"), WRONG_METHODS)
async def test_wrong_method_is_405_with_allow_and_problem(
    client: httpx.AsyncClient, engine: Engine, path: str, method: str
) -> None:
    allowed, detail = ROUTES[path]
    response = await client.request(method, path, content=GOOD_HEARTBEAT)
    assert response.status_code == 405
    assert allow_set(response.headers["allow"]) == allowed
    assert response.headers["content-type"] == PROBLEM_JSON
    expected = problem(405, "Method Not Allowed", detail, path)
    if method == "HEAD":
        assert response.content == b""
        assert response.headers["content-length"] == str(len(expected))
    else:
        assert response.content == expected
    assert engine.tracked == 0  # a wrong-method heartbeat is not a heartbeat


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=path.removeprefix(API + "/")) for path, (allowed, _) in
             ROUTES.items() if "GET" in allowed],
)  # fmt: skip
async def test_head_is_get_without_body(client: httpx.AsyncClient, path: str) -> None:
    get = await client.get(path)
    head = await client.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""


# -- 404 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="root"),
        pytest.param("/hmi/v1", id="api-root"),
        pytest.param("/hmi/v1/", id="api-root-slash"),
        pytest.param("/hmi/v2/params", id="other-version"),
        pytest.param("/params", id="no-prefix"),
        pytest.param("/hmi/v1/hbstate/", id="hbstate-no-name"),
        pytest.param("/hmi/v1/heartbeat/", id="heartbeat-slash"),
        pytest.param("/hmi/v1/heartbeat/x0c0s0b0n0/extra", id="heartbeat-two-segments"),
        pytest.param("/hmi/v1/params/", id="params-slash"),
        pytest.param("/hmi/v1/debug/pprof/", id="pprof"),
        pytest.param("/hmi/v1/HEARTBEAT", id="wrong-case"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_path_is_404_problem(
    client: httpx.AsyncClient, engine: Engine, path: str, method: str
) -> None:
    response = await client.request(method, path, content=GOOD_HEARTBEAT)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == problem(404, "Not Found", f"No such endpoint: {path}", path)
    assert engine.tracked == 0
    await assert_still_serving(client)


# -- 413 ---------------------------------------------------------------------------------------

HB_LIMIT = f"Request body is larger than {MAX_HEARTBEAT_BODY} bytes"


@pytest.mark.parametrize(
    ("method", "path", "size", "detail", "instance"),
    [
        pytest.param("POST", f"{API}/heartbeat", MAX_HEARTBEAT_BODY + 1, HB_LIMIT,
                     f"{API}/heartbeat", id="heartbeat-just-over"),
        pytest.param("POST", f"{API}/heartbeat/x0c0s0b0n0", MAX_HEARTBEAT_BODY + 1, HB_LIMIT,
                     f"{API}/heartbeat", id="heartbeat-xname-just-over"),
        pytest.param("POST", f"{API}/heartbeat", MAX_REQUEST_BODY + 1, HB_LIMIT,
                     f"{API}/heartbeat", id="heartbeat-huge"),
        pytest.param("PATCH", f"{API}/params", MAX_PARAMS_BODY + 1,
                     f"Request body is larger than {MAX_PARAMS_BODY} bytes", f"{API}/params",
                     id="params"),
        pytest.param("POST", f"{API}/hbstates", MAX_REQUEST_BODY + 1,
                     f"Request body is larger than {MAX_REQUEST_BODY} bytes", f"{API}/hbstates",
                     id="hbstates"),
    ],
)  # fmt: skip
async def test_big_body_is_413(
    client: httpx.AsyncClient, method: str, path: str, size: int, detail: str, instance: str
) -> None:
    # Valid JSON padded with white space, so only the size can be at fault.
    body = b"{}".ljust(size, b" ")
    response = await client.request(method, path, content=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == problem(413, "Payload Too Large", detail, instance)
    await assert_still_serving(client)


@pytest.mark.parametrize(
    ("method", "path", "size"),
    [
        pytest.param("POST", f"{API}/heartbeat", MAX_HEARTBEAT_BODY, id="heartbeat"),
        pytest.param("PATCH", f"{API}/params", MAX_PARAMS_BODY, id="params"),
        pytest.param("POST", f"{API}/hbstates", MAX_REQUEST_BODY, id="hbstates"),
    ],
)
async def test_body_at_the_limit_is_read(
    client: httpx.AsyncClient, method: str, path: str, size: int
) -> None:
    response = await client.request(method, path, content=b"{}".ljust(size, b" "))
    assert response.status_code != 413
    assert response.status_code < 500


async def call_asgi(
    app: Any, method: str, path: str, chunks: list[bytes]
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Drive an ASGI app with a body that arrives in several messages."""
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []
    response_done = trio.Event()

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        # Like a server: the client disconnects only after the response.
        await response_done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            response_done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"hbtd"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1234),
        "server": ("hbtd", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


@pytest.mark.parametrize(
    ("chunks", "status"),
    [
        pytest.param([GOOD_HEARTBEAT[:10], GOOD_HEARTBEAT[10:30], GOOD_HEARTBEAT[30:]], 200,
                     id="valid-in-three-chunks"),
        pytest.param([b"{}"] + [b" " * 4096] * 4, 413, id="over-limit-in-chunks"),
        pytest.param([b"{", b"}"], 400, id="small-chunks-missing-fields"),
    ],
)  # fmt: skip
async def test_streamed_heartbeat_body_to_the_quart_route(
    engine: Engine, chunks: list[bytes], status: int
) -> None:
    app = create_quart_app(engine)
    got, headers, body = await call_asgi(app, "POST", f"{API}/heartbeat", chunks)
    assert got == status
    if status == 200:
        assert body == b""
        assert engine.view("x0c0s0b0n0") is not None
    else:
        assert headers[b"content-type"] == PROBLEM_JSON.encode()
        assert json.loads(body)["status"] == status
        assert engine.tracked == 0


# -- 400 for undecodable input -----------------------------------------------------------------

NOT_UTF8 = b'{"Component":"x0c0s0b0n0","Status":"\xff","Timestamp":"t"}'
DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 1500 + b"1" + b"}" * 1500


@pytest.mark.parametrize(
    ("method", "path", "body", "detail", "instance"),
    [
        pytest.param("POST", f"{API}/heartbeat", NOT_UTF8, "Request body is not valid UTF-8",
                     f"{API}/heartbeat", id="heartbeat-not-utf8"),
        pytest.param("POST", f"{API}/heartbeat", b"\xfe\xff\x00{",
                     "Request body is not valid UTF-8", f"{API}/heartbeat", id="heartbeat-utf16"),
        pytest.param("POST", f"{API}/heartbeat/x0c0s0b0n0", b'{"Status":"\xc3"}',
                     "Request body is not valid UTF-8", f"{API}/heartbeat",
                     id="heartbeat-xname-truncated-utf8"),
        pytest.param("PATCH", f"{API}/params", b'{"Debug":"\xff"}',
                     "Request body is not valid UTF-8", f"{API}/params", id="params-not-utf8"),
        pytest.param("POST", f"{API}/hbstates", b'{"XNames":["\xff"]}',
                     "Error unmarshalling inbound request", f"{API}/hbstates",
                     id="hbstates-not-utf8"),
        pytest.param("POST", f"{API}/heartbeat", DEEP, "JSON is nested too deeply",
                     f"{API}/heartbeat", id="heartbeat-deep-array"),
        pytest.param("POST", f"{API}/heartbeat", DEEP_OBJECT, "JSON is nested too deeply",
                     f"{API}/heartbeat", id="heartbeat-deep-object"),
        pytest.param("POST", f"{API}/heartbeat/x0c0s0b0n0", DEEP, "JSON is nested too deeply",
                     f"{API}/heartbeat", id="heartbeat-xname-deep"),
        pytest.param("PATCH", f"{API}/params", DEEP, "JSON is nested too deeply",
                     f"{API}/params", id="params-deep"),
        pytest.param("POST", f"{API}/hbstates", DEEP, "Error unmarshalling inbound request",
                     f"{API}/hbstates", id="hbstates-deep"),
        pytest.param("POST", f"{API}/heartbeat", b"\xef\xbb\xbf" + GOOD_HEARTBEAT,
                     "Invalid JSON data type", f"{API}/heartbeat", id="heartbeat-bom"),
        pytest.param("POST", f"{API}/heartbeat",
                     hb_body(Component="x0c0s0b0n0", Status="x" * 257, Timestamp="t"),
                     "Status field is longer than 256 characters", f"{API}/heartbeat",
                     id="heartbeat-long-status"),
    ],
)  # fmt: skip
async def test_undecodable_input_is_400(
    client: httpx.AsyncClient,
    engine: Engine,
    method: str,
    path: str,
    body: bytes,
    detail: str,
    instance: str,
) -> None:
    response = await client.request(method, path, content=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == problem(400, "Invalid Request", detail, instance)
    assert engine.tracked == 0
    await assert_still_serving(client)


ODD_BODIES = [
    pytest.param(b"\x00", id="nul"),
    pytest.param(b"NaN", id="nan"),
    pytest.param(b"Infinity", id="infinity"),
    pytest.param(b"1e999999", id="huge-float"),
    pytest.param(b"1" * 5000, id="huge-int"),
    pytest.param(b'{"Debug":' + b"1" * 5000 + b"}", id="huge-int-member"),
    pytest.param(b'{"":""}', id="empty-key"),
    pytest.param(b'{"Component":"\\ud800","Status":"\\udfff","Timestamp":"t"}', id="surrogates"),
    pytest.param(b'{"Status":"\\u0000","Timestamp":"\\u0000","XNames":["\\u0000"]}', id="nul-esc"),
    pytest.param(b'{"Component":"x0c0s0b0n0","Status":"\xc3\xa9","Timestamp":"t"}', id="utf8"),
    pytest.param(json.dumps({"XNames": [{"a": 1}], "Debug": {}}).encode(), id="objects"),
    pytest.param(b'{"Warntime":"99999999999999999999999999"}', id="huge-string-number"),
    pytest.param(b"[" * 900 + b"]" * 900, id="nested-900"),
]
ENDPOINTS = [
    pytest.param("POST", f"{API}/heartbeat", id="heartbeat"),
    pytest.param("POST", f"{API}/heartbeat/x0c0s0b0n0", id="heartbeat-xname"),
    pytest.param("PATCH", f"{API}/params", id="params"),
    pytest.param("POST", f"{API}/hbstates", id="hbstates"),
]


@pytest.mark.parametrize("body", ODD_BODIES)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_odd_input_is_never_a_500(
    client: httpx.AsyncClient, method: str, path: str, body: bytes
) -> None:
    response = await client.request(method, path, content=body)
    assert response.status_code in {200, 400}
    if response.status_code == 400:
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["status"] == 400
    assert (await client.get(f"{API}/liveness")).status_code == 204


async def test_odd_path_names_are_never_a_500(client: httpx.AsyncClient) -> None:
    for name in ["%00", "%ff", "%C3%A9", "x0c0s0b0n0%0A", "..", "%2e%2e", "x" * 2000, "%20"]:
        for method, path in [("POST", f"{API}/heartbeat/{name}"), ("GET", f"{API}/hbstate/{name}")]:
            response = await client.request(
                method, path, content=hb_body(Status="OK", Timestamp="t")
            )
            assert response.status_code in {200, 400, 404}, (method, name)
            if response.status_code != 200:
                assert response.headers["content-type"] == PROBLEM_JSON
    await assert_still_serving(client)


# -- RFC 7807 bytes as hms-base writes them ----------------------------------------------------


async def test_problem_body_escapes_html_characters_like_go(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"{API}/params", json={"Errtime": "<5>&"})
    assert response.content == (
        b'{"type":"about:blank","title":"Invalid Request",'
        b"\"detail\":\"Parameter 'errtime' with illegal value '\\u003c5\\u003e\\u0026'; \","
        b'"instance":"/hmi/v1/params","status":400}\n'
    )


async def test_a_routing_redirect_is_relative_whatever_the_host_header(
    client: httpx.AsyncClient,
) -> None:
    # It was built from the client's Host header: http://evil.example/hmi/v1/params (#21).
    response = await client.get(
        f"{API}/params".replace("/v1", "//v1"), headers={"host": "evil.example"}
    )
    assert response.status_code == 308
    assert response.headers["location"] == f"{API}/params"
    assert b"evil" not in response.content

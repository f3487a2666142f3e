"""The lean server's connection over in-memory streams, on trio's autojump clock (#12).

Each test speaks raw HTTP/1.1 bytes to one ``Connection`` and reads the raw answer, so what
is asserted is what a client on a socket would see: status lines, headers, the close.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from hbtd_server.core import DEFAULT_PARAMS, Rejection
from hbtd_server.engine import Engine
from hbtd_server.http import HeartbeatRoutes, Limits, SocketTransport
from hbtd_server.http._connection import Connection, Site
from tests.http_wire import RawResponse, read_responses, request_bytes

LIMITS = Limits(
    keep_alive_timeout=30.0,
    head_timeout=10.0,
    body_timeout=20.0,
    send_timeout=25.0,
    max_header_bytes=4096,
    max_body_bytes=1000,
)
HEARTBEAT = b'{"Status":"OK","TimeStamp":"2026-11-25T10:00:00+00:00"}'
HB_PATH = "/hmi/v1/heartbeat/x0c0s0b0n0"


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with what it got: method, path, body (and a few special paths)."""
    if scope["type"] == "lifespan":
        return
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("a bug")
    if path == "/slow":
        await trio.sleep(100)
    body = b""
    if path != "/noread":
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
    text = json.dumps({"method": scope["method"], "path": path, "body": body.decode()}).encode()
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": text[:5], "more_body": True})
        await send({"type": "http.response.body", "body": text[5:]})
        return
    status = 404 if path == "/missing" else 200
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(text))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


class Client:
    """The client end of one connection, with the server's task running."""

    def __init__(self, stream: trio.StapledStream[Any, Any], engine: Engine) -> None:
        self.stream = stream
        self.engine = engine
        self.closed_at: float | None = None

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def responses(self, count: int) -> tuple[list[RawResponse], bool]:
        return await read_responses(self.stream, count)

    async def response(self) -> RawResponse:
        responses, _ = await self.responses(1)
        assert responses, "the server closed without answering"
        return responses[0]

    async def at_eof(self) -> bool:
        """Whether the server closed (after any bytes still to read)."""
        while True:
            data = await self.stream.receive_some(65536)
            if not data:
                return True


@asynccontextmanager
async def connection(limits: Limits = LIMITS) -> AsyncIterator[Client]:
    engine = Engine(DEFAULT_PARAMS, clock=lambda: 1000.0)
    site = Site(echo_app, inline=HeartbeatRoutes(engine), limits=limits)
    client_stream, server_stream = trio.testing.memory_stream_pair()
    client = Client(client_stream, engine)

    async def serve() -> None:
        await Connection(server_stream, site).run()
        client.closed_at = trio.current_time()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        yield client
        await client_stream.aclose()


def get(path: str, *headers: tuple[str, str]) -> bytes:
    return request_bytes("GET", path, list(headers))


def post(path: str, body: bytes, *headers: tuple[str, str]) -> bytes:
    return request_bytes("POST", path, list(headers), body)


# -- HTTP semantics --------------------------------------------------------------------------


async def test_keep_alive_by_default_on_http_11(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        for _ in range(3):
            await client.send(get("/a"))
            response = await client.response()
            assert response.status == 200
            assert response.header(b"connection") is None
        await trio.sleep(LIMITS.keep_alive_timeout - 1)
        assert client.closed_at is None


async def test_a_heartbeat_connection_is_kept_for_the_keep_alive_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Before the first request the head timeout (10 s) applies; after one, even one answered
    # inline without moving the deadline, the keep-alive timeout (30 s).
    async with connection() as client:
        await client.send(post(HB_PATH, HEARTBEAT))
        assert (await client.response()).status == 200
        answered = trio.current_time()
        await trio.sleep(LIMITS.keep_alive_timeout - 2)
        assert client.closed_at is None
        assert await client.at_eof()
        closed = trio.current_time() - answered
        assert closed == pytest.approx(LIMITS.keep_alive_timeout, abs=1.0)


async def test_connection_close_answers_then_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(get("/a", ("connection", "close")))
        response = await client.response()
        assert response.status == 200
        assert response.header(b"connection") == b"close"
        assert await client.at_eof()
        assert trio.current_time() == 0.0  # at once, not at a timeout


async def test_heartbeat_with_connection_close_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(post(HB_PATH, HEARTBEAT, ("connection", "close")))
        response = await client.response()
        assert (response.status, response.body) == (200, b"")
        assert await client.at_eof()
        assert client.engine.view("x0c0s0b0n0") is not None


@pytest.mark.parametrize(
    ("connection_header", "stays_open"),
    [(None, False), ("keep-alive", True), ("close", False)],
)
async def test_http_10(
    autojump_clock: trio.testing.MockClock, connection_header: str | None, stays_open: bool
) -> None:
    async with connection() as client:
        head = "GET /a HTTP/1.0\r\n"
        if connection_header:
            head += f"connection: {connection_header}\r\n"
        await client.send((head + "\r\n").encode())
        response = await client.response()
        assert response.status == 200
        if stays_open:
            assert response.header(b"connection") == b"keep-alive"
            await client.send(b"GET /b HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
            assert json.loads((await client.response()).body)["path"] == "/b"
        else:
            assert await client.at_eof()


async def test_http_10_streamed_answer_ends_with_the_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(b"GET /stream HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        response = await client.response()
        assert json.loads(response.body)["path"] == "/stream"
        assert response.header(b"transfer-encoding") is None
        assert response.header(b"connection") == b"close"


async def test_streamed_answer_is_chunked_on_http_11(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(get("/stream"))
        response = await client.response()
        assert response.header(b"transfer-encoding") == b"chunked"
        assert json.loads(response.body)["path"] == "/stream"


async def test_pipelined_requests_are_answered_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(
            get("/one") + post(HB_PATH, HEARTBEAT) + post("/two", b"xyz") + get("/three")
        )
        responses, eof = await client.responses(4)
        assert not eof
        assert [r.status for r in responses] == [200, 200, 200, 200]
        paths = [json.loads(r.body)["path"] for r in responses if r.body]
        assert paths == ["/one", "/two", "/three"]
        assert json.loads(responses[2].body)["body"] == "xyz"
        assert responses[1].body == b""  # the heartbeat, answered inline


async def test_chunked_request_body(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        head = b"POST /echo HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
        await client.send(head + b"3\r\nabc\r\n")
        await trio.sleep(1)
        await client.send(b"4\r\ndefg\r\n0\r\n\r\n")
        assert json.loads((await client.response()).body)["body"] == "abcdefg"
        hb = b"POST " + HB_PATH.encode() + b" HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n"
        chunks = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in (HEARTBEAT[:9], HEARTBEAT[9:]))
        await client.send(hb + b"\r\n" + chunks + b"0\r\n\r\n")
        assert (await client.response()).status == 200
        assert client.engine.view("x0c0s0b0n0") is not None


@pytest.mark.parametrize("path", ["/echo", HB_PATH])
async def test_expect_100_continue(autojump_clock: trio.testing.MockClock, path: str) -> None:
    async with connection() as client:
        body = HEARTBEAT
        head = (
            f"POST {path} HTTP/1.1\r\nhost: h\r\nexpect: 100-continue\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        await client.send(head.encode())
        interim = await client.response()
        assert (interim.status, interim.reason) == (100, b"Continue")
        await client.send(body)
        assert (await client.response()).status == 200


async def test_expect_100_continue_over_the_cap_is_413_without_100(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        head = b"POST /echo HTTP/1.1\r\nhost: h\r\nexpect: 100-continue\r\ncontent-length: 5000\r\n"
        await client.send(head + b"\r\n")
        response = await client.response()
        assert response.status == 413
        assert response.header(b"connection") == b"close"


@pytest.mark.parametrize(
    ("path", "status_line"),
    [("/a", b"HTTP/1.1 200 OK\r\n"), ("/missing", b"HTTP/1.1 404 Not Found\r\n")],
)
async def test_status_lines_have_reason_phrases(
    autojump_clock: trio.testing.MockClock, path: str, status_line: bytes
) -> None:
    async with connection() as client:
        await client.send(get(path, ("connection", "close")))
        data = b""
        while chunk := await client.stream.receive_some(65536):
            data += chunk
        assert data.startswith(status_line)
        assert b"\r\ndate: " in data


async def test_response_to_head_has_no_body(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        await client.send(request_bytes("HEAD", "/a", []) + get("/b"))
        data = b""
        while data.count(b"HTTP/1.1 200 OK") < 2:
            data += await client.stream.receive_some(65536)
        first, second = data.split(b"HTTP/1.1 200 OK")[1:3]
        assert first.endswith(b"\r\n\r\n")  # headers only
        assert b'"/b"' in second


async def test_unread_body_is_skipped_for_the_next_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(post("/noread", b"x" * 500) + get("/after"))
        responses, _ = await client.responses(2)
        assert json.loads(responses[1].body)["path"] == "/after"


# -- Limits --------------------------------------------------------------------------------


async def test_idle_keep_alive_timeout_closes_quietly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(get("/a"))
        await client.response()
        answered = trio.current_time()
        assert await client.at_eof()  # no 408 for an idle connection: just the close
        assert trio.current_time() == pytest.approx(answered + LIMITS.keep_alive_timeout)


async def test_connection_that_sends_nothing_is_closed_at_the_head_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        assert await client.at_eof()
        assert trio.current_time() == pytest.approx(LIMITS.head_timeout)


async def test_slow_head_gets_408_then_close(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        await client.send(get("/a"))
        await client.response()
        await trio.sleep(5)
        started = trio.current_time()
        for piece in (b"GET /slow-head HTTP/1.1\r\n", b"host: h\r\n", b"x-a: 1\r\n"):
            await client.send(piece)
            await trio.sleep(4)  # one byte now and then is not enough: the head has a deadline
        responses, eof = await client.responses(2)
        assert [r.status for r in responses] == [408]
        assert responses[0].header(b"connection") == b"close"
        assert json.loads(responses[0].body)["instance"] == "/slow-head"
        assert eof
        assert client.closed_at == pytest.approx(started + LIMITS.head_timeout)


@pytest.mark.parametrize("path", ["/echo", HB_PATH])
async def test_slow_body_gets_408_then_close(
    autojump_clock: trio.testing.MockClock, path: str
) -> None:
    async with connection() as client:
        await client.send(
            f"POST {path} HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\n".encode()
        )
        started = trio.current_time()
        for _ in range(50):  # a byte every 4 s, as in the issue
            await client.send(b" ")
            await trio.sleep(4)
            if client.closed_at is not None:
                break
        responses, _ = await client.responses(1)
        assert responses[0].status == 408
        assert await client.at_eof()
        assert client.closed_at == pytest.approx(started + LIMITS.body_timeout)


async def test_header_block_over_the_cap_is_431(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        await client.send(get("/a", ("x-big", "y" * 5000)))
        response = await client.response()
        assert response.status == 431
        assert response.header(b"content-type") == b"application/problem+json"
        assert await client.at_eof()


async def test_body_over_the_cap_is_413_before_it_is_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        # Only the head is sent: the answer must not wait for the body.
        await client.send(b"POST /echo HTTP/1.1\r\nhost: h\r\ncontent-length: 1001\r\n\r\n")
        response = await client.response()
        assert response.status == 413
        assert json.loads(response.body)["detail"] == "Request body is larger than 1000 bytes"
        assert trio.current_time() == 0.0


async def test_heartbeat_over_its_cap_is_413_with_the_quart_route_bytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(
            f"POST {HB_PATH} HTTP/1.1\r\nhost: h\r\ncontent-length: 999999\r\n\r\n".encode()
        )
        response = await client.response()
        assert response.status == 413
        assert json.loads(response.body)["instance"] == "/hmi/v1/heartbeat"
        assert client.engine.heartbeats_rejected[Rejection.TOO_LARGE] == 1


async def test_chunked_body_over_the_cap_is_413(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        head = b"POST /echo HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
        await client.send(head + b"".join(b"1f4\r\n" + b"x" * 500 + b"\r\n" for _ in range(3)))
        response = await client.response()
        assert response.status == 413
        assert await client.at_eof()


async def test_content_length_with_transfer_encoding_is_400_then_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(
            b"POST /echo HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n"
            b"transfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: h\r\n\r\n"
        )
        responses, eof = await client.responses(2)
        assert [r.status for r in responses] == [400]
        assert responses[0].header(b"connection") == b"close"
        assert responses[0].header(b"content-type") == b"application/problem+json"
        assert eof


@pytest.mark.parametrize(
    "garbage",
    [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
     b"G\x00T / HTTP/1.1\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n"],
)  # fmt: skip
async def test_malformed_request_is_400_problem_then_close(
    autojump_clock: trio.testing.MockClock, garbage: bytes
) -> None:
    async with connection() as client:
        await client.send(garbage)
        response = await client.response()
        assert response.status == 400
        problem = json.loads(response.body)
        assert problem["status"] == 400
        assert problem["detail"].startswith("Malformed HTTP request")
        assert await client.at_eof()


async def test_requests_before_a_malformed_one_are_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(get("/first") + b"NOT HTTP\r\n\r\n")
        responses, eof = await client.responses(3)
        assert [r.status for r in responses] == [200, 400]
        assert eof


async def test_app_bug_is_500_problem_and_close(autojump_clock: trio.testing.MockClock) -> None:
    async with connection() as client:
        await client.send(get("/boom"))
        response = await client.response()
        assert response.status == 500
        assert await client.at_eof()


async def test_slow_answer_is_cut_at_the_send_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(get("/slow"))
        assert await client.at_eof()
        assert trio.current_time() == pytest.approx(LIMITS.send_timeout)


async def test_a_client_that_stops_reading_heartbeat_answers_is_cut_at_the_send_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Inline answers keep the deadline they find (the keep-alive timeout, 30 s here); a send
    # that has to wait is the transport's to bound, by the send timeout from its first wait.
    # Real sockets: the buffers that fill are the kernel's.
    limits = dataclasses.replace(LIMITS, send_timeout=5.0)  # keep-alive stays 30 s
    engine = Engine(DEFAULT_PARAMS, clock=lambda: 1000.0)
    ours, theirs = trio.socket.socketpair()
    transport = SocketTransport(trio.SocketStream(ours), send_timeout=limits.send_timeout)
    server = Connection(transport, Site(echo_app, inline=HeartbeatRoutes(engine), limits=limits))
    closed_at: list[float] = []

    async def serve() -> None:
        await server.run()
        closed_at.append(trio.current_time())

    async with trio.SocketStream(theirs) as client, trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        block = post(HB_PATH, HEARTBEAT) * 500
        with trio.move_on_after(120):
            while not closed_at:
                try:
                    await client.send_all(block)  # and never read an answer
                except trio.BrokenResourceError:
                    break
    assert closed_at
    assert closed_at[0] == pytest.approx(limits.send_timeout)
    assert engine.heartbeats_accepted > 100  # it was answering until the buffers filled


async def test_client_leaving_mid_body_ends_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(b"POST /echo HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\nabc")
        await client.stream.send_stream.aclose()
        assert await client.at_eof()
        assert trio.current_time() == 0.0


async def test_the_state_follows_each_request(autojump_clock: trio.testing.MockClock) -> None:
    engine = Engine(DEFAULT_PARAMS, clock=lambda: 1000.0)
    site = Site(echo_app, inline=HeartbeatRoutes(engine), limits=LIMITS)
    client, server_stream = trio.testing.memory_stream_pair()
    server = Connection(server_stream, site)
    seen: list[tuple[str, bool]] = []

    async def look() -> None:
        await trio.sleep(0.5)
        seen.append((server.state.name, server.idle))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.run)
        await look()
        await client.send_all(b"POST /echo HTTP/1.1\r\nhost: h\r\n")
        await look()
        await client.send_all(b"content-length: 4\r\n\r\nab")
        await look()
        await client.send_all(b"cd")
        responses, _ = await read_responses(client, 1)
        await look()
        beat = post(HB_PATH, HEARTBEAT)
        await client.send_all(beat[:-5])
        await look()
        await client.send_all(beat[-5:])
        responses += (await read_responses(client, 1))[0]
        await look()
        await client.aclose()
        await look()
    assert [r.status for r in responses] == [200, 200]
    assert seen == [
        ("IDLE", True),
        ("HEAD", False),
        ("BODY", False),  # the app waits for the rest of its body
        ("IDLE", True),
        ("BODY", False),  # the inline route too
        ("IDLE", True),
        ("CLOSED", False),
    ]

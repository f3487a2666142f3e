"""The lean server against the attacks of #21, one connection at a time over in-memory streams
(or a socket pair), on trio's autojump clock. The same attacks against a real ``hbtd``, all at
once, are in ``tests/integration/test_attacks_process.py``."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
import trio
import trio.testing

from hbtd_server.core import DEFAULT_PARAMS
from hbtd_server.engine import Engine
from hbtd_server.http import HeartbeatRoutes, Limits, SocketTransport, create_quart_app
from hbtd_server.http._connection import Connection, Site
from hbtd_server.http._reader import HEAD_SLICE, MAX_CHUNKS, RequestHead, RequestReader
from tests.http_wire import read_responses

from .test_http_connection import HB_PATH, HEARTBEAT, LIMITS, connection, echo_app, get, post

TINY_GET = b"GET /a HTTP/1.1\r\nhost: h\r\n\r\n"


# -- fault 2: parse-ahead is bounded, whatever is pipelined -----------------------------------


def test_a_read_of_pipelined_heads_is_parsed_a_slice_at_a_time() -> None:
    reader = RequestReader(max_header_bytes=4096, max_body_bytes=1000)
    reader.feed(TINY_GET * (65536 // len(TINY_GET)))
    heads = [e for e in reader.events if isinstance(e, RequestHead)]
    # Before #21 all 2,427 heads of the read were queued at once (with their header lists).
    assert len(heads) <= HEAD_SLICE // len(TINY_GET) + 1
    assert reader.backlog is not None
    total = len(heads)
    while reader.backlog is not None:
        reader.events.clear()
        reader.parse_more()
        total += sum(isinstance(e, RequestHead) for e in reader.events)
    assert total == 65536 // len(TINY_GET)


async def test_pipelined_requests_behind_an_answer_never_read_are_not_parsed_ahead(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The client pipelines a 64 KiB read of requests and never reads an answer: the server
    # stops in its first send, holding one slice of parsed heads, until the send timeout.
    limits = dataclasses.replace(LIMITS, send_timeout=5.0)
    ours, theirs = trio.socket.socketpair()
    ours.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF, 4096)
    transport = SocketTransport(trio.SocketStream(ours), send_timeout=limits.send_timeout)
    reader_seen: list[int] = []
    site = Site(big_answer_app, inline=None, limits=limits)
    server = Connection(transport, site)

    async def serve() -> None:
        await server.run()

    async with trio.SocketStream(theirs) as client, trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await client.send_all(get("/big") + TINY_GET * 2000)
        await trio.sleep(1.0)
        reader_seen.append(sum(isinstance(e, RequestHead) for e in server._reader.events))
        await trio.sleep(10.0)
    assert reader_seen[0] <= HEAD_SLICE // len(TINY_GET) + 1


async def big_answer_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b"x" * (4 * 1024 * 1024)
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- fault 3: Upgrade is ignored --------------------------------------------------------------


async def test_an_upgrade_request_is_served_as_http_and_what_follows_it_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        upgrade = get("/ws", ("upgrade", "websocket"), ("connection", "Upgrade"))
        await client.send(upgrade + get("/after"))
        responses, _ = await client.responses(2)
        assert [r.status for r in responses] == [200, 200]
        assert [json.loads(r.body)["path"] for r in responses] == ["/ws", "/after"]
        assert responses[0].header(b"upgrade") is None
        assert client.closed_at is None


async def test_an_upgrade_header_on_a_heartbeat_keeps_its_body(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        beat = post(
            HB_PATH, HEARTBEAT, ("upgrade", "h2c"), ("connection", "Upgrade, HTTP2-Settings")
        )
        await client.send(beat[:-10])
        await trio.sleep(0.1)
        await client.send(beat[-10:] + get("/after"))
        responses, _ = await client.responses(2)
        assert [(r.status, r.body[:0]) for r in responses] == [(200, b""), (200, b"")]
        assert client.engine.view("x0c0s0b0n0") is not None


async def test_an_upgrade_with_a_chunked_body_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with connection() as client:
        await client.send(
            b"POST /x HTTP/1.1\r\nhost: h\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
            b"transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        response = await client.response()
        assert response.status == 400
        assert await client.at_eof()


# -- fault 4: stuck bodies and blocked sends can be evicted at the cap -------------------------


async def test_a_body_that_stalls_is_stuck_after_the_given_age(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = Engine(DEFAULT_PARAMS, clock=lambda: 1000.0)
    site = Site(echo_app, inline=HeartbeatRoutes(engine), limits=LIMITS)
    client, server_stream = trio.testing.memory_stream_pair()
    server = Connection(server_stream, site)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.run)
        await client.send_all(b"POST /echo HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\nx")
        await trio.sleep(1.0)
        assert not server.stuck(trio.current_time(), 2.0)
        assert not server.idle
        await trio.sleep(1.5)
        assert server.stuck(trio.current_time(), 2.0)
        server.evict()
        responses, eof = await read_responses(client, 2)
        assert [r.status for r in responses] == [408]
        assert eof


async def test_a_client_that_does_not_take_its_answer_is_stuck_after_the_given_age(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ours, theirs = trio.socket.socketpair()
    ours.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF, 4096)
    transport = SocketTransport(trio.SocketStream(ours), send_timeout=LIMITS.send_timeout)
    server = Connection(transport, Site(big_answer_app, inline=None, limits=LIMITS))
    closed = trio.Event()

    async def serve() -> None:
        await server.run()
        closed.set()

    async with trio.SocketStream(theirs) as client, trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await client.send_all(get("/big"))
        await trio.sleep(1.0)
        assert not server.stuck(trio.current_time(), 2.0)
        await trio.sleep(1.5)
        assert server.stuck(trio.current_time(), 2.0)
        server.evict()
        with trio.fail_after(1):
            await closed.wait()
    assert trio.current_time() < LIMITS.send_timeout


# -- fault 5: fairness by parsing work, and a bound on chunks ---------------------------------


def chunked_post(path: str, pieces: int, size: int = 1) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n".encode()
    return head + (b"%x\r\n%b\r\n" % (size, b"x" * size)) * pieces + b"0\r\n\r\n"


async def test_a_body_of_more_chunks_than_the_bound_is_400(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limits = dataclasses.replace(LIMITS, max_body_bytes=1 << 20)
    async with connection(limits) as client:
        await client.send(chunked_post("/echo", MAX_CHUNKS + 10))
        response = await client.response()
        assert response.status == 400
        assert f"more than {MAX_CHUNKS} chunks" in json.loads(response.body)["detail"]
        assert await client.at_eof()


async def test_a_read_of_tiny_chunks_is_parsed_in_turns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # One read of 64 KiB of 1-byte chunks: another task gets its turn between the slices.
    limits = dataclasses.replace(LIMITS, max_body_bytes=1 << 20)
    turns = 0
    answered = trio.Event()

    async def other_task() -> None:
        nonlocal turns
        while not answered.is_set():
            turns += 1
            await trio.lowlevel.checkpoint()

    async with connection(limits) as client, trio.open_nursery() as nursery:
        data = chunked_post("/echo", 65536 // 6)
        await client.send(data)
        nursery.start_soon(other_task)
        response = await client.response()
        answered.set()
    assert response.status == 200
    assert turns >= len(data) // 8192


# -- fault 6: a reset mid-body is a disconnect and a debug line --------------------------------


class ResetMidBody(trio.abc.Stream):
    """Hands out ``data``, then fails as a reset connection does."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent = b""

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        if self.data:
            data, self.data = self.data, b""
            return data
        raise trio.BrokenResourceError("socket connection broken: [Errno 104] reset by peer")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        self.sent += bytes(data)

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


@pytest.mark.parametrize("path", ["/hmi/v1/hbstates", "/hmi/v1/params", HB_PATH])
async def test_a_reset_in_the_middle_of_a_body_logs_no_error(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    engine = Engine(DEFAULT_PARAMS, clock=lambda: 1000.0)
    app: Any = create_quart_app(engine)
    site = Site(app, inline=HeartbeatRoutes(engine), limits=Limits())
    method = "PATCH" if path.endswith("params") else "POST"
    stream = ResetMidBody(
        f"{method} {path} HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\n{{".encode()
    )
    caplog.set_level(logging.DEBUG)
    await Connection(stream, site).run()
    assert stream.sent == b""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all(r.exc_info is None for r in caplog.records)


# -- fault 7: an app's Connection: close is honoured ------------------------------------------


async def closing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"2"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": b"no"})


async def test_an_answer_the_app_marks_connection_close_closes_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server_stream = trio.testing.memory_stream_pair()
    site = Site(closing_app, inline=None, limits=LIMITS)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(Connection(server_stream, site).run)
        await client.send_all(get("/x"))
        responses, eof = await read_responses(client, 2)
    assert [r.status for r in responses] == [401]
    assert responses[0].header(b"connection") == b"close"
    assert eof
    assert trio.current_time() == 0.0  # at once, not at the keep-alive timeout


# -- fault 8: RFC 9112 Host and version rules -------------------------------------------------


@pytest.mark.parametrize(
    ("request_data", "status", "detail"),
    [
        pytest.param(b"GET /a HTTP/1.1\r\n\r\n", 400, "missing Host header", id="no-host"),
        pytest.param(b"GET /a HTTP/1.1\r\nhost: a\r\nHost: b\r\n\r\n", 400,
                     "more than one Host header", id="two-hosts"),
        pytest.param(b"GET /a HTTP/1.0\r\nhost: a\r\nhost: a\r\n\r\n", 400,
                     "more than one Host header", id="two-hosts-http-1.0"),
        pytest.param(b"GET /a HTTP/1.1\r\nhost: a b\r\n\r\n", 400, "invalid Host header",
                     id="space-in-host"),
        pytest.param(b"GET /a HTTP/1.1\r\nhost: a/b@c\r\n\r\n", 400, "invalid Host header",
                     id="slash-in-host"),
        pytest.param(b"GET /a HTTP/2.0\r\nhost: a\r\n\r\n", 505, "HTTP/2.0 is not supported",
                     id="http-2.0"),
        pytest.param(b"GET /a HTTP/0.9\r\n\r\n", 505, "HTTP/0.9 is not supported",
                     id="http-0.9"),
    ],
)  # fmt: skip
async def test_host_and_version_rules_of_rfc_9112(
    autojump_clock: trio.testing.MockClock, request_data: bytes, status: int, detail: str
) -> None:
    async with connection() as client:
        await client.send(get("/first") + request_data)
        responses, eof = await client.responses(3)
        assert [r.status for r in responses] == [200, status]
        assert detail in json.loads(responses[1].body)["detail"]
        assert eof


@pytest.mark.parametrize(
    "host",
    [b"hbtd", b"hbtd:28500", b"10.1.2.3:80", b"[fd00::1]:28500", b"", b"xn--bcher-kva.example"],
)
async def test_valid_hosts_and_http_10_without_host_are_served(
    autojump_clock: trio.testing.MockClock, host: bytes
) -> None:
    async with connection() as client:
        await client.send(b"GET /a HTTP/1.1\r\nhost: %b\r\n\r\nGET /b HTTP/1.0\r\n\r\n" % host)
        responses, _ = await client.responses(2)
        assert [r.status for r in responses] == [200, 200]

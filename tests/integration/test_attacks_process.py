"""The attacks of #21 against a real ``hbtd``, over raw sockets on loopback.

Each fault has its own test that failed before #21; ``test_the_attacks_together`` runs them
all at once against one tracker with default settings, as the issue's acceptance asks.
"""

from __future__ import annotations

import base64
import json
import resource
import socket
import statistics
import struct

import httpx
import pytest
import trio

from bench._procs import rss_bytes
from tests.etcd_support import EtcdServer
from tests.http_wire import RawResponse, read_responses, request_bytes

from .conftest import HbtdProcess, StartHbtd

pytestmark = pytest.mark.integration

LIVENESS = request_bytes("GET", "/hmi/v1/liveness", [])
#: hbtd's open-file limit in the combined check: the cap is then 1024 - 102 = 922 connections,
#: few enough for this test to fill. Every other setting is hbtd's default.
FD_LIMIT = 1024
CAP = FD_LIMIT - max(64, FD_LIMIT // 10)


async def connect(hbtd: HbtdProcess) -> trio.SocketStream:
    return await trio.open_tcp_stream("127.0.0.1", hbtd.port)


async def exchange(hbtd: HbtdProcess, data: bytes, count: int = 1) -> list[RawResponse]:
    async with await connect(hbtd) as stream:
        await stream.send_all(data)
        with trio.fail_after(10):
            responses, _ = await read_responses(stream, count)
    return responses


async def connect_never_reading(hbtd: HbtdProcess) -> trio.SocketStream:
    """A connection whose receive window is small: the server's sends block soon."""
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", hbtd.port))
    return trio.SocketStream(sock)


def reset(stream: trio.SocketStream) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a client that crashed."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


def raise_own_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


def chunked_body_of_ones(size: int) -> bytes:
    head = b"POST /hmi/v1/hbstates HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + b"1\r\nx\r\n" * size + b"0\r\n\r\n"


def quiet_log(hbtd: HbtdProcess) -> None:
    log = hbtd.log()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "ERROR" in line] == []


# -- fault 1: a bad Sm_url ended the process -----------------------------------------------------


async def test_fault1_a_patch_with_an_sm_url_httpx_cannot_parse_is_400_and_hbtd_stays_up(
    start_hbtd: StartHbtd,
) -> None:
    # Not --nosm: the HSM poller runs (and would have died on httpx.InvalidURL a moment later).
    async with start_hbtd("--interval", "1") as hbtd:
        async with httpx.AsyncClient(base_url=hbtd.url, timeout=5) as client:
            for bad in ("http://h:abc/x", "http://[::1", "http://[zz]/x", "http://h/x\r\nX: 1"):
                response = await client.patch("/params", json={"Sm_url": bad})
                assert response.status_code == 400
                assert "Parameter 'sm_url'" in response.json()["detail"]
            await trio.sleep(6)  # a poll or more, at Interval 1
            assert hbtd.process.returncode is None
            assert (await client.get("/liveness")).status_code == 204
            health = (await client.get("/health")).json()
            assert health["TaskFailures"] == {}
        quiet_log(hbtd)


# -- fault 3: Upgrade: websocket and a pipelined GET ended the process (hypercorn) ---------------


async def test_fault3_an_upgrade_request_and_a_pipelined_one_are_both_answered(
    start_hbtd: StartHbtd,
) -> None:
    upgrade = request_bytes(
        "GET",
        "/hmi/v1/liveness",
        [("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-version", "13")],
    )
    async with start_hbtd("--nosm") as hbtd:
        responses = await exchange(hbtd, upgrade + LIVENESS, 2)
        assert [r.status for r in responses] == [204, 204]
        assert hbtd.process.returncode is None
        quiet_log(hbtd)


# -- fault 4: at the cap, stalled bodies kept /liveness out --------------------------------------


async def test_fault4_at_a_cap_held_by_stalled_bodies_liveness_gets_in(
    start_hbtd: StartHbtd,
) -> None:
    async with start_hbtd("--nosm", "--max-connections", "20") as hbtd:
        stalled = []
        for _ in range(20):
            stream = await connect(hbtd)
            head = b"POST /hmi/v1/hbstates HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\n{"
            await stream.send_all(head)
            stalled.append(stream)
        try:
            await trio.sleep(2.5)  # the bodies are stuck now (2 s)
            with trio.fail_after(5):
                responses = await exchange(hbtd, LIVENESS)
            assert [r.status for r in responses] == [204]
        finally:
            for stream in stalled:
                await stream.aclose()


# -- fault 6: resets mid-body logged a traceback each ---------------------------------------------


async def test_fault6_resets_in_the_middle_of_a_body_log_no_error(start_hbtd: StartHbtd) -> None:
    async with start_hbtd("--nosm") as hbtd:
        for path in ("/hmi/v1/hbstates", "/hmi/v1/params") * 10:
            stream = await connect(hbtd)
            method = "PATCH" if path.endswith("params") else "POST"
            await stream.send_all(
                f"{method} {path} HTTP/1.1\r\nhost: h\r\ncontent-length: 1000\r\n\r\n{{".encode()
            )
            await trio.sleep(0.05)
            reset(stream)
        assert [r.status for r in await exchange(hbtd, LIVENESS)] == [204]
        quiet_log(hbtd)


# -- fault 8: RFC 9112 ---------------------------------------------------------------------------


async def test_fault8_host_version_and_redirect_rules(start_hbtd: StartHbtd) -> None:
    async with start_hbtd("--nosm") as hbtd:
        [no_host] = await exchange(hbtd, b"GET /hmi/v1/liveness HTTP/1.1\r\n\r\n")
        assert no_host.status == 400
        [two] = await exchange(hbtd, b"GET /hmi/v1/liveness HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n")
        assert two.status == 400
        [http2] = await exchange(hbtd, b"GET /hmi/v1/liveness HTTP/2.0\r\nhost: a\r\n\r\n")
        assert http2.status == 505
        [redirect] = await exchange(
            hbtd, b"GET /hmi//v1/params HTTP/1.1\r\nhost: evil.example\r\n\r\n"
        )
        assert redirect.status == 308
        assert redirect.header(b"location") == b"/hmi/v1/params"


# -- all of them at once ------------------------------------------------------------------------

PIPELINERS = 500
STALLERS = CAP - PIPELINERS
BIG_ANSWERS = request_bytes("GET", "/hmi/v1/openapi.json", []) * 8
TINY = b"GET /hmi/v1/liveness HTTP/1.1\r\nhost: h\r\n\r\n"
PIPELINED = BIG_ANSWERS + TINY * (65536 // len(TINY))


async def test_the_attacks_together(start_hbtd: StartHbtd) -> None:
    """Every attack of #21 against one ``hbtd``, its settings the defaults but its open-file
    limit: 1024 (``FD_LIMIT``), so that the connection cap (922) is one this test can fill.
    The issue's numbers are kept: 500 never-reading pipelining clients, four 2 MB bodies of
    1-byte chunks, 50 mid-body resets, and the thresholds (RSS growth under 150 MB, a new
    /liveness within 5 s at the cap, /liveness under 300 ms beside the chunked bodies).
    """
    raise_own_fd_limit(4 * FD_LIMIT)
    async with start_hbtd(fd_limit=FD_LIMIT) as hbtd, trio.open_nursery() as nursery:
        streams: list[trio.SocketStream] = []
        rss_before = rss_bytes(hbtd.process.pid)

        # 1. 500 clients pipeline big answers and 64 KiB of tiny requests, and never read.
        for _ in range(PIPELINERS):
            stream = await connect_never_reading(hbtd)
            await stream.send_all(PIPELINED)
            streams.append(stream)
        growth = 0
        for _ in range(10):  # the server answers what it can, then every send blocks
            await trio.sleep(0.5)
            growth = max(growth, rss_bytes(hbtd.process.pid) - rss_before)
        assert growth < 150 * 1024 * 1024, f"RSS grew {growth / 2**20:.0f} MB"

        # 2. The rest of the cap is held by bodies that stall (1 byte of 100).
        for _ in range(STALLERS):
            stream = await connect(hbtd)
            await stream.send_all(
                b"POST /hmi/v1/hbstates HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\n{"
            )
            streams.append(stream)
        await trio.sleep(2.5)  # stuck now
        began = trio.current_time()
        with trio.fail_after(5):
            while True:
                try:
                    if [r.status for r in await exchange(hbtd, LIVENESS)] == [204]:
                        break
                except trio.BrokenResourceError:
                    pass
                await trio.sleep(0.1)
        assert trio.current_time() - began < 5

        # 3. Four clients send 2 MB bodies of 1-byte chunks, over and over; /liveness waits.
        async def chunker() -> None:
            body = chunked_body_of_ones(2 * 1024 * 1024)
            while True:
                try:
                    async with await connect(hbtd) as stream:
                        await stream.send_all(body)
                        await stream.receive_some(65536)
                except (trio.BrokenResourceError, OSError):
                    await trio.sleep(0.01)

        for _ in range(4):
            nursery.start_soon(chunker)
        await trio.sleep(1.0)
        latencies = []
        async with await connect(hbtd) as prober:
            for _ in range(20):
                start = trio.current_time()
                await prober.send_all(LIVENESS)
                with trio.fail_after(5):
                    responses, _ = await read_responses(prober, 1)
                assert [r.status for r in responses] == [204]
                latencies.append(trio.current_time() - start)
                await trio.sleep(0.05)
        assert max(latencies) < 0.300, (
            f"/liveness max {max(latencies) * 1000:.0f} ms, "
            f"median {statistics.median(latencies) * 1000:.0f} ms"
        )

        # 4. 50 resets in the middle of bodies; an Upgrade with a pipelined GET; no Host; a
        # PATCH with an Sm_url httpx cannot parse.
        for _ in range(50):
            stream = await connect(hbtd)
            await stream.send_all(
                b"POST /hmi/v1/hbstates HTTP/1.1\r\nhost: h\r\ncontent-length: 1000\r\n\r\n{"
            )
            await trio.sleep(0.01)
            reset(stream)
        upgrade = request_bytes("GET", "/hmi/v1/liveness", [("upgrade", "websocket"),
                                                            ("connection", "Upgrade")])  # fmt: skip
        assert [r.status for r in await exchange(hbtd, upgrade + LIVENESS, 2)] == [204, 204]
        [no_host] = await exchange(hbtd, b"GET /hmi/v1/liveness HTTP/1.1\r\n\r\n")
        assert no_host.status == 400
        patch = json.dumps({"Sm_url": "http://h:abc/x"}).encode()
        [refused] = await exchange(
            hbtd, request_bytes("PATCH", "/hmi/v1/params", [("content-type", "json")], patch)
        )
        assert refused.status == 400
        nursery.cancel_scope.cancel()
        for stream in streams:
            stream.socket.close()

        # Still up, answering, and no ERROR line nor traceback in its log.
        assert hbtd.process.returncode is None
        assert [r.status for r in await exchange(hbtd, LIVENESS)] == [204]
        quiet_log(hbtd)


async def test_fault1_a_bad_sm_url_stored_in_etcd_does_not_stop_a_start(
    start_hbtd: StartHbtd, etcd_server: EtcdServer
) -> None:
    # As an older tracker stored it: answered 200 then, and every later start died of it.
    stored = {"Warntime": "7", "Errtime": "30", "Sm_url": "http://h:abc/x"}
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(
            f"{etcd_server.url}/v3/kv/put",
            json={
                "key": base64.b64encode(b"hbtd/params").decode(),
                "value": base64.b64encode(json.dumps(stored).encode()).decode(),
            },
        )
        assert answer.status_code == 200
    async with start_hbtd("--kv_url", etcd_server.url, "--interval", "1") as hbtd:
        await trio.sleep(3)  # a few polls
        assert hbtd.process.returncode is None
        async with httpx.AsyncClient(base_url=hbtd.url, timeout=5) as client:
            params = (await client.get("/params")).json()
            assert params["Sm_url"] == "http://localhost:27779/hsm/v2"  # its own, not the bad one
            assert (await client.get("/health")).json()["TaskFailures"] == {}
        errors = [line for line in hbtd.log().splitlines() if "ERROR" in line]
        assert len(errors) == 1
        assert "ignoring the stored parameters" in errors[0]
        assert "Traceback" not in hbtd.log()

"""The live runner's and the live fleet's reads are bounded in size and time (real sockets)."""

from __future__ import annotations

from functools import partial

import httpx
import pytest
import trio

from hb_sim.errors import HbSimError
from hb_sim.fleet import HttpConnection
from hb_sim.fleet._http import ANSWER_LIMIT, AnswerTooLong
from hb_sim.run._live_hsm import RemoteHsm
from hb_sim.run._reads import call
from tests.hostile_peer import hostile_peer


@pytest.mark.parametrize("mode", ["endless", "2gb", "headers"])
async def test_a_fleet_connection_refuses_an_answer_over_its_bound(mode: str) -> None:
    async with hostile_peer(mode) as peer:
        conn = HttpConnection("127.0.0.1", peer.port)
        try:
            with trio.fail_after(20), pytest.raises(AnswerTooLong, match=str(ANSWER_LIMIT)):
                await conn.post("/hmi/v1/heartbeat/x1000c0s0b0n0", b"{}")
        finally:
            await conn.aclose()
    assert peer.requests == 2  # one reconnection, as on any broken connection, then it gives up


async def test_a_fleet_connection_gives_up_on_a_silent_tracker() -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
        conn = HttpConnection("127.0.0.1", listeners[0].socket.getsockname()[1], timeout=0.5)
        start = trio.current_time()
        with trio.fail_after(20), pytest.raises(TimeoutError, match=r"no answer within 0\.5 s"):
            await conn.post("/hmi/v1/heartbeat/x1000c0s0b0n0", b"{}")
        assert trio.current_time() - start >= 0.5
        nursery.cancel_scope.cancel()


async def test_the_runner_fails_in_one_line_on_an_answer_over_its_bound() -> None:
    async with hostile_peer("endless") as peer, httpx.AsyncClient() as client:
        with trio.fail_after(20), pytest.raises(HbSimError) as refused:
            await call(client, "GET", f"{peer.url}/hmi/v1/liveness")
    assert str(refused.value) == (
        f"GET {peer.url}/hmi/v1/liveness: HTTP 200 answer is over the bound of 65536 bytes; "
        "connection closed"
    )


async def test_a_remote_mock_hsm_s_records_are_bounded() -> None:
    async with hostile_peer("2gb") as peer, httpx.AsyncClient() as client:
        with trio.fail_after(20), pytest.raises(HbSimError, match="over the bound of 268435456"):
            await RemoteHsm(peer.url, client, 0.0).records()

"""HSM's answers are read within a bound: an endless answer is a failed attempt, not memory."""

from __future__ import annotations

import logging

import httpx
import pytest
import trio
import trio.testing

from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Kind, Params
from hbtd_server.notify import run_hsm_notifier, run_hsm_ready_poller
from tests.hostile_peer import hostile_peer
from tests.polling import until
from tests.unit.server.engine_support import beat

XNAME = "x1000c0s0b0n0"


def params(sm_url: str) -> Params:
    return DEFAULT_PARAMS.patched(
        {"Warntime": "100", "Errtime": "200", "Interval": "1", "Sm_url": sm_url, "Sm_retries": "1"}
    )


@pytest.mark.parametrize("mode", ["endless", "2gb", "headers"])
async def test_a_readiness_answer_that_never_ends_is_hsm_not_ready(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with hostile_peer(mode) as peer, httpx.AsyncClient() as client:
        engine = Engine(params(peer.url))
        async with trio.open_nursery() as nursery:
            await nursery.start(run_hsm_ready_poller, engine, client)
            await until(lambda: peer.requests >= 2, within=30)  # it polls on, every Interval
            nursery.cancel_scope.cancel()
    assert engine.books.health.ready is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one line, then rate-limited
    if mode == "headers":
        assert "RemoteProtocolError" in warnings[0]
    else:
        assert f"{peer.url}/service/ready answered 200 with more than 65536 bytes" in warnings[0]


async def test_a_patch_answer_over_the_bound_is_a_failed_attempt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"code": 0, "message": "HSM is healthy"})
        return httpx.Response(200, content=b"x" * 70_000)

    engine = Engine(params("http://hsm/hsm/v2"))
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(run_hsm_ready_poller, engine, client)
        await nursery.start(run_hsm_notifier, engine, client)
        await trio.sleep(0.1)
        beat(engine, XNAME)
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    assert engine.books.health.ready is True
    assert (
        engine.books.health.patch_outcomes["failed"] >= 2
    )  # one try and a retry, then again later
    assert engine.books.health.patch_outcomes["delivered"] == 0
    assert "HTTP 200 answer is over the bound of 65536 bytes" in engine.books.health.last_error
    assert engine.books.wanted(XNAME) is Kind.STARTED  # held, to be sent again

"""The reconciler's reads of HSM: what a bad answer does to a round (it is dropped whole).

HSM is played by an ``httpx.MockTransport`` handler, so any answer can be given; the engine,
the ledger and the reader are the real ones.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, HsmView, Kind
from hbtd_server.engine import Duty
from hbtd_server.notify import reconcile_round
from tests.unit.server.engine_support import beat

X, Y = "x1000c0s0b0n0", "x1000c0s0b0n1"


def engine_with(*xnames: str) -> Engine:
    engine = Engine(DEFAULT_PARAMS.patched({"Sm_url": "http://hsm/hsm/v2", "Sm_timeout": "2"}))
    engine.books.readiness(True)
    beat(engine, *xnames)
    for patch in engine.books.take():
        engine.books.delivered(patch)
    return engine


async def run_round(
    engine: Engine, answer: Callable[[httpx.Request], httpx.Response]
) -> list[tuple[str, Kind]]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        return await reconcile_round(engine, client)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        pytest.param(httpx.Response(503), "answered 503", id="unavailable"),
        pytest.param(httpx.Response(200, content=b"<html>"), "not a component list", id="html"),
        pytest.param(httpx.Response(200, json={"Components": "x"}), "not a component list",
                     id="not-a-list"),
        pytest.param(httpx.Response(200, json={"Components": [{"ID": 5}]}),
                     "not a component list", id="bad-entry"),
        pytest.param(httpx.Response(200, content=b"[" + b" " * 200_000 + b"]"), "AnswerRefused",
                     id="too-large"),
    ],
)  # fmt: skip
async def test_a_bad_answer_drops_the_round_whole(response: httpx.Response, error: str) -> None:
    engine = engine_with(X, Y)
    assert await run_round(engine, lambda request: response) == []
    assert engine.books.reconcile_health.failed == 1
    assert error in str(engine.books.reconcile_health.last["Error"])
    assert engine.books.picture(X) == HsmView("Ready", "OK")  # untouched


async def test_reads_ask_for_state_only_and_every_id() -> None:
    engine = engine_with(X, Y)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        shown = [{"ID": X.upper(), "Type": "Node", "State": "Standby", "Flag": "Alert"}]
        return httpx.Response(200, json={"Components": shown})  # Y: unknown to HSM

    assert await run_round(engine, answer) == [(X, Kind.RESTARTED)]
    [request] = seen
    assert set(request.url.params.get_list("id")) == {X, Y}
    assert request.url.params["stateonly"] == "true"
    assert engine.books.reconcile_health.last["Unknown"] == 1
    assert engine.books.picture(Y) is None  # never created, no picture


async def test_a_round_back_after_the_lead_was_lost_corrects_nothing() -> None:
    engine = engine_with(X)

    def answer(request: httpx.Request) -> httpx.Response:
        engine.set_duty(Duty.FOLLOW)  # another replica took the lead while HSM answered
        shown = [{"ID": X, "State": "Off", "Flag": "OK"}]
        return httpx.Response(200, json={"Components": shown})

    assert await run_round(engine, answer) == []
    assert "not leading" in str(engine.books.reconcile_health.last["Error"])


async def test_nothing_tracked_reads_nothing() -> None:
    engine = engine_with()
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    assert await run_round(engine, answer) == []
    assert calls == []
    assert engine.books.reconcile_health.rounds == 1

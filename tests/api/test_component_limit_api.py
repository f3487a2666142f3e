"""The component limit (#13): a flood of invented names cannot grow the tracker without bound.

Beyond ``max_components`` tracked (or HSM changes pending), a heartbeat from a new name gets
503 with a problem body, counted by reason; names already tracked keep beating; the log says
so once per burst. Both heartbeat paths answer byte for byte alike.
"""

from __future__ import annotations

import httpx
import pytest

from hbtd_server.core import DEFAULT_PARAMS, Kind
from hbtd_server.engine import Engine
from hbtd_server.http import create_quart_app
from hbtd_server.ops import Metrics
from tests.api.conftest import (
    API,
    PROBLEM_JSON,
    ManualClock,
    hb_body,
    make_client,
    make_lean_client,
    problem,
)

LIMIT = 4
NAMES = [f"x1000c0s{i}b0n0" for i in range(LIMIT + 3)]
FULL = f"{API}/heartbeat"
REFUSED = problem(
    503,
    "Service Unavailable",
    f"Tracking the most components allowed ({LIMIT}); "
    "a heartbeat from a new component is refused for now",
    FULL,
)


def beat(name: str) -> bytes:
    return hb_body(Status="OK", Timestamp="t")


@pytest.fixture
def limited(clock: ManualClock) -> Engine:
    # Nosm: HSM changes stay pending, so the pending bound can be seen too.
    return Engine(DEFAULT_PARAMS.patched({"Nosm": "1"}), clock=clock, max_components=LIMIT)


async def test_new_names_beyond_the_limit_get_503_and_are_counted(
    limited: Engine, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(limited, process=False)
    app = create_quart_app(limited, metrics=metrics)
    async with make_lean_client(limited, app) as client:
        for name in NAMES[:LIMIT]:
            assert (await client.post(f"{FULL}/{name}", content=beat(name))).status_code == 200
        for name in NAMES[LIMIT:]:
            response = await client.post(f"{FULL}/{name}", content=beat(name))
            assert response.status_code == 503
            assert response.headers["content-type"] == PROBLEM_JSON
            assert response.content == REFUSED
        # The full form too; and a tracked name keeps beating.
        full = await client.post(
            FULL, content=hb_body(Component=NAMES[-1], Status="OK", Timestamp="t")
        )
        assert full.content == REFUSED
        assert (await client.post(f"{FULL}/{NAMES[0]}", content=beat(NAMES[0]))).status_code == 200
        # The tracker stays healthy.
        assert (await client.get(f"{API}/liveness")).status_code == 204
        assert (await client.get(f"{API}/health")).status_code == 200
        text = (await client.get(f"{API}/metrics")).text
    assert limited.tracked == LIMIT
    assert 'hbtd_heartbeats_rejected_total{reason="component_limit"} 4.0' in text
    assert f"hbtd_component_limit {float(LIMIT)}" in text
    lines = [r for r in caplog.records if r.getMessage().startswith("component limit")]
    assert len(lines) == 1  # one line per burst, not one per refusal


async def test_a_new_burst_logs_again_and_room_is_made_by_deaths(
    limited: Engine, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_lean_client(limited, create_quart_app(limited)) as client:
        for name in NAMES[: LIMIT - 1]:
            await client.post(f"{FULL}/{name}", content=beat(name))
        assert (await client.post(f"{FULL}/{NAMES[-1]}", content=beat(""))).status_code == 200
        assert (await client.post(f"{FULL}/{NAMES[-2]}", content=beat(""))).status_code == 503
        clock.advance(120)
        assert (await client.post(f"{FULL}/{NAMES[-2]}", content=beat(""))).status_code == 503
    lines = [r for r in caplog.records if r.getMessage().startswith("component limit")]
    assert len(lines) == 2


async def test_pending_hsm_changes_are_bounded_by_the_same_limit(
    limited: Engine, clock: ManualClock
) -> None:
    # Names that beat once and die leave a pending "dead" each while HSM is not told (Nosm):
    # cycling invented names must not grow the ledger without bound either.
    async with make_lean_client(limited, create_quart_app(limited)) as client:
        for name in NAMES[:LIMIT]:
            await client.post(f"{FULL}/{name}", content=beat(name))
        clock.advance(limited.params.warntime)
        limited.detect()
        clock.advance(limited.params.errtime)
        limited.detect()
        assert limited.tracked == 0
        assert limited.books.wanted(NAMES[0]) is Kind.DEAD
        assert limited.books.pending_count == LIMIT
        response = await client.post(f"{FULL}/{NAMES[-1]}", content=beat(""))
        assert response.status_code == 503
        # A node HSM is waiting to hear about may come back: it is not new to the ledger's bound.
        limited.set_params(limited.params.patched({"Nosm": "0"}))
    assert limited.books.pending_count == LIMIT


async def test_inline_route_and_quart_app_refuse_identically(clock: ManualClock) -> None:
    answers = []
    for wrap in (True, False):
        engine = Engine(DEFAULT_PARAMS, clock=ManualClock(), max_components=1)
        app = create_quart_app(engine)
        async with make_lean_client(engine, app) if wrap else make_client(app) as client:
            await client.post(f"{FULL}/{NAMES[0]}", content=beat(""))
            response: httpx.Response = await client.post(f"{FULL}/{NAMES[1]}", content=beat(""))
            answers.append(
                (response.status_code, response.headers["content-type"], response.content)
            )
    assert answers[0] == answers[1]
    assert answers[0][0] == 503

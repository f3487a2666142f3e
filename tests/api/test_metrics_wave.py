"""Acceptance (#8): /metrics scraped during a transition wave agrees with what HSM received.

The tracker runs in process on trio's autojump clock with its real tasks (detector, HSM poller
and notifier) against the mock HSM through httpx's ASGI transport; heartbeats and scrapes go
through the tracker's own ASGI stack. No socket, no real time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import trio
import trio.testing

from hb_sim.hsm import MockHsm, create_mock_hsm_app
from hbtd_server import Engine, create_quart_app, run_tracker_tasks
from hbtd_server.core import DEFAULT_PARAMS, Kind
from hbtd_server.ops import Metrics

from .conftest import API, hb_body, make_lean_client
from .metrics_scrape import at, scrape

NAMES = [f"x1000c{c}s{s}b0n{n}" for c in range(4) for s in range(8) for n in range(2)]
DYING = [name for name in NAMES if name.startswith("x1000c0")]  # one chassis: 16 of 64
SURVIVORS = [name for name in NAMES if name not in DYING]
KIND_BY_MESSAGE = {kind.hsm.message: kind.name.lower() for kind in Kind}


def hsm_received(hsm: MockHsm) -> tuple[Counter[str], int]:
    """Component IDs per transition kind in the PATCHes HSM accepted, and how many PATCHes."""
    ids: Counter[str] = Counter()
    accepted = [r for r in hsm.requests() if r.method == "PATCH" and 200 <= r.status < 300]
    for request in accepted:
        kind = KIND_BY_MESSAGE[request.body["ExtendedInfo"]["Message"]]
        ids[kind] += len(request.body["ComponentIDs"])
    return ids, len(accepted)


async def test_metrics_during_a_wave_match_what_hsm_received(
    autojump_clock: trio.testing.MockClock,
) -> None:
    params = DEFAULT_PARAMS.patched(
        {"Warntime": "10", "Errtime": "30", "Interval": "5", "Sm_url": "http://hsm/hsm/v2"}
    )
    engine = Engine(params)
    metrics = Metrics(engine, process=False)
    hsm = MockHsm(nodes=NAMES)
    hsm_app: Any = create_mock_hsm_app(hsm)
    tracker_app = create_quart_app(engine, metrics=metrics)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=hsm_app)) as hsm_client,
        make_lean_client(engine, tracker_app) as client,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(run_tracker_tasks, engine, hsm_client)

        async def beat(names: list[str]) -> None:
            for name in names:
                body = hb_body(Status="OK", TimeStamp="2026-11-25T10:00:00+00:00")
                assert (await client.post(f"{API}/heartbeat/{name}", content=body)).status_code

        await beat(NAMES)
        # Two refused heartbeats, counted by reason.
        await client.post(f"{API}/heartbeat", content=hb_body(Status="OK"))
        await client.post(f"{API}/heartbeat/not-a-name", content=hb_body(Status="OK"))
        await trio.sleep(1)

        async def survivors_beat() -> None:
            while True:
                await trio.sleep(3)
                await beat(SURVIVORS)

        nursery.start_soon(survivors_beat)
        start = trio.current_time()
        # The chassis falls silent: warnings are detected at start + 9 s (10 s after their
        # last beat); the notifier gathers the wave for 200 ms before sending.
        await trio.sleep_until(start + 9.1)
        during = await scrape(client)
        await trio.sleep(1)
        warned = await scrape(client)
        await trio.sleep(21)  # deaths at start + 29 s
        dead = await scrape(client)
        hsm_ids, accepted_patches = hsm_received(hsm)
        nursery.cancel_scope.cancel()

    # Mid-wave: every warning detected, none delivered yet.
    assert at(during, "hbtd_transitions_total", kind="warning") == len(DYING)
    assert at(during, "hbtd_components", state="warning") == len(DYING)
    assert at(during, "hbtd_hsm_pending_changes") == len(DYING)
    assert at(during, "hbtd_hsm_patches_total", outcome="delivered") == 1  # the starts
    # After the batching window: delivered, nothing waits.
    assert at(warned, "hbtd_hsm_pending_changes") == 0
    assert at(warned, "hbtd_hsm_patches_total", outcome="delivered") == 2

    assert at(dead, "hbtd_heartbeats_accepted_total") == engine.heartbeats_accepted
    assert at(dead, "hbtd_heartbeats_rejected_total", reason="missing_component") == 1
    assert at(dead, "hbtd_heartbeats_rejected_total", reason="missing_timestamp") == 1
    assert at(dead, "hbtd_components", state="alive") == len(SURVIVORS)
    assert at(dead, "hbtd_components", state="warning") == 0
    # The counts agree with what HSM received, kind by kind and PATCH by PATCH.
    for kind in ("started", "restarted", "warning", "dead"):
        assert at(dead, "hbtd_transitions_total", kind=kind) == hsm_ids[kind], kind
    assert hsm_ids == {"started": len(NAMES), "warning": len(DYING), "dead": len(DYING)}
    assert at(dead, "hbtd_hsm_patches_total", outcome="delivered") == accepted_patches == 3
    for outcome in ("refused", "failed", "unreachable", "timeout"):
        assert at(dead, "hbtd_hsm_patches_total", outcome=outcome) == 0
    assert at(dead, "hbtd_hsm_patch_duration_seconds_count") == accepted_patches
    # The deadline-driven detector fires exactly on time on the mock clock.
    for kind in ("warning", "dead"):
        count = at(dead, "hbtd_detection_lateness_seconds_count", kind=kind)
        assert count == len(DYING)
        on_time = at(dead, "hbtd_detection_lateness_seconds_bucket", kind=kind, le="0.001")
        assert on_time == count

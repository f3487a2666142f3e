"""``GET /hmi/v1/metrics`` in process: what it shows and what it costs nobody (#8)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hbtd_server import Engine, TelemetryPublisher, create_quart_app
from hbtd_server.core import Rejection
from hbtd_server.ops import PATCH_OUTCOMES, Metrics

from .conftest import API, PROBLEM_JSON, ManualClock, hb_body, make_client, make_lean_client
from .metrics_scrape import at, scrape

TIMESTAMP = "2026-11-25T10:00:00+00:00"


class FakeTelemetry:
    delivered = 7
    queued = 2
    dropped = 1
    discarded = 3


@pytest.fixture
def metrics(engine: Engine) -> Metrics:
    return Metrics(engine, process=False)


@pytest.fixture
async def metrics_client(engine: Engine, metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    app = create_quart_app(engine, metrics=metrics)
    async with make_lean_client(engine, app) as http:
        yield http


async def test_every_label_is_present_from_the_start(metrics_client: httpx.AsyncClient) -> None:
    samples = await scrape(metrics_client)
    for reason in Rejection:
        assert at(samples, "hbtd_heartbeats_rejected_total", reason=reason.value) == 0
    for outcome in PATCH_OUTCOMES:
        assert at(samples, "hbtd_hsm_patches_total", outcome=outcome) == 0
    for kind in ("started", "restarted", "warning", "dead"):
        assert at(samples, "hbtd_transitions_total", kind=kind) == 0
    assert at(samples, "hbtd_components", state="alive") == 0
    assert at(samples, "hbtd_warntime_seconds") == 10
    assert at(samples, "hbtd_errtime_seconds") == 30
    assert at(samples, "hbtd_hsm_ready") == 0
    assert at(samples, "hbtd_silence_guard_engaged") == 0
    # No telemetry source was given: no telemetry metric pretends to count anything.
    assert not any(name.startswith("hbtd_telemetry") for name, _ in samples)


async def test_heartbeats_states_and_transitions_are_counted(
    metrics_client: httpx.AsyncClient, engine: Engine, clock: ManualClock
) -> None:
    for name in ("x1000c0s0b0n0", "x1000c0s0b0n1"):
        body = hb_body(Status="OK", TimeStamp=TIMESTAMP)
        assert (
            await metrics_client.post(f"{API}/heartbeat/{name}", content=body)
        ).status_code == 200
    clock.advance(10.5)
    engine.detect()
    samples = await scrape(metrics_client)
    assert at(samples, "hbtd_heartbeats_accepted_total") == 2
    assert at(samples, "hbtd_transitions_total", kind="started") == 2
    assert at(samples, "hbtd_transitions_total", kind="warning") == 2
    assert at(samples, "hbtd_components", state="warning") == 2
    assert at(samples, "hbtd_components", state="alive") == 0
    assert at(samples, "hbtd_hsm_pending_changes") == 2
    assert at(samples, "hbtd_detection_lateness_seconds_count", kind="warning") == 2
    assert at(samples, "hbtd_detection_lateness_seconds_sum", kind="warning") == pytest.approx(1.0)
    assert at(samples, "hbtd_detection_lateness_seconds_bucket", kind="warning", le="0.25") == 0
    assert at(samples, "hbtd_detection_lateness_seconds_bucket", kind="warning", le="0.5") == 2


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/heartbeat", b"[1]", "invalid_json"),
        ("/heartbeat", b"\xff", "not_utf8"),
        ("/heartbeat", hb_body(Status="OK", TimeStamp=TIMESTAMP), "missing_component"),
        ("/heartbeat/x1000c0s0b0n0", hb_body(TimeStamp=TIMESTAMP), "missing_status"),
        ("/heartbeat/x1000c0s0b0n0", hb_body(Status="OK"), "missing_timestamp"),
        ("/heartbeat/x1000c0s0b0n0", hb_body(Status=1, TimeStamp=TIMESTAMP), "wrong_field_type"),
        ("/heartbeat/x1000c0s0b0n0", hb_body(Status="x" * 300, TimeStamp="t"), "field_too_long"),
        ("/heartbeat/bogus", hb_body(Status="OK", TimeStamp=TIMESTAMP), "invalid_xname"),
        (
            "/heartbeat",
            hb_body(Component="x1000c0s0b0n0", NID="x", Status="OK", TimeStamp=TIMESTAMP),
            "invalid_nid",
        ),
        ("/heartbeat/x1000c0s0b0n0", b" " * 20_000, "too_large"),
    ],
)
async def test_refused_heartbeats_are_counted_by_reason(
    metrics_client: httpx.AsyncClient, path: str, body: bytes, reason: str
) -> None:
    response = await metrics_client.post(API + path, content=body)
    assert response.status_code in (400, 413)
    samples = await scrape(metrics_client)
    assert at(samples, "hbtd_heartbeats_rejected_total", reason=reason) == 1
    assert sum(v for (n, _), v in samples.items() if n == "hbtd_heartbeats_rejected_total") == 1
    assert at(samples, "hbtd_heartbeats_accepted_total") == 0


async def test_the_quart_heartbeat_route_counts_refusals_too(engine: Engine) -> None:
    # Without the inline routes in front (the app alone), Quart's own route counts them.
    metrics = Metrics(engine, process=False)
    async with make_client(create_quart_app(engine, metrics=metrics)) as client:
        await client.post(f"{API}/heartbeat/bogus", content=hb_body(Status="OK", TimeStamp="t"))
        samples = await scrape(client)
    assert at(samples, "hbtd_heartbeats_rejected_total", reason="invalid_xname") == 1


async def test_hsm_patch_outcomes_and_latency(
    metrics_client: httpx.AsyncClient, engine: Engine
) -> None:
    engine.books.health.observe_patch("delivered", 0.02)
    engine.books.health.observe_patch("timeout", 10.0)
    samples = await scrape(metrics_client)
    assert at(samples, "hbtd_hsm_patches_total", outcome="delivered") == 1
    assert at(samples, "hbtd_hsm_patches_total", outcome="timeout") == 1
    assert at(samples, "hbtd_hsm_patch_duration_seconds_count") == 2
    assert at(samples, "hbtd_hsm_patch_duration_seconds_bucket", le="0.025") == 1


async def test_telemetry_counts_come_from_the_hook(engine: Engine) -> None:
    metrics = Metrics(engine, telemetry=FakeTelemetry(), process=False)
    async with make_client(create_quart_app(engine, metrics=metrics)) as client:
        samples = await scrape(client)
    assert at(samples, "hbtd_telemetry_messages_sent_total") == 7
    assert at(samples, "hbtd_telemetry_messages_waiting") == 2
    assert at(samples, "hbtd_telemetry_messages_dropped_total") == 1
    assert at(samples, "hbtd_telemetry_messages_discarded_total") == 3


async def test_the_real_publisher_fits_the_hook(engine: Engine) -> None:
    metrics = Metrics(engine, telemetry=TelemetryPublisher(), process=False)
    assert b"hbtd_telemetry_messages_waiting 0.0" in metrics.render()


def test_store_flushes_appear_with_the_first_one(engine: Engine) -> None:
    metrics = Metrics(engine, process=False)
    assert b"hbtd_store_flush" not in metrics.render()
    engine.store_health.observe_flush(0.004, ok=True)  # as the store reports its flushes
    engine.store_health.observe_flush(0.2, ok=False)
    text = metrics.render()
    assert b"hbtd_store_flush_duration_seconds_count 2.0" in text
    assert b"hbtd_store_flush_errors_total 1.0" in text


async def test_registries_are_per_app(engine: Engine, clock: ManualClock) -> None:
    # No global registry: two trackers in one process do not see each other's numbers.
    other = Engine(engine.params, clock=clock)
    first, second = Metrics(engine), Metrics(other)
    engine.heartbeats_accepted = 5
    assert b"hbtd_heartbeats_accepted_total 5.0" in first.render()
    assert b"hbtd_heartbeats_accepted_total 0.0" in second.render()
    assert b"process_cpu_seconds_total" in first.render()


async def test_metrics_off_means_no_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_wrong_method_on_metrics(metrics_client: httpx.AsyncClient) -> None:
    response = await metrics_client.post(f"{API}/metrics")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


async def test_build_info_names_the_installed_version(metrics_client: httpx.AsyncClient) -> None:
    from importlib.metadata import version

    samples = await scrape(metrics_client)
    assert at(samples, "hbtd_build_info", version=version("hbtd-py")) == 1


async def test_a_lone_tracker_leads_and_a_follower_does_not(
    metrics_client: httpx.AsyncClient, engine: Engine
) -> None:
    assert at(await scrape(metrics_client), "hbtd_leader") == 1  # the memory store: alone
    engine.store_health.role = "follower"
    assert at(await scrape(metrics_client), "hbtd_leader") == 0
    engine.store_health.role = "leader"
    assert at(await scrape(metrics_client), "hbtd_leader") == 1

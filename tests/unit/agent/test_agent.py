"""The heartbeat loop on trio's virtual clock: pacing, backoff, params, status, stop."""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

from hb_agent._agent import Agent, AgentOptions
from hb_agent._probes import CommandProbe, MemoryProbe

from .conftest import FakeTracker, make_sender, make_tree, virtual_wall_clock

MEMINFO_LOW = "MemTotal: 1000000 kB\nMemFree: 1000 kB\nMemAvailable: 2048 kB\n"
MEMINFO_OK = "MemTotal: 1000000 kB\nMemFree: 1000 kB\nMemAvailable: 900000 kB\n"


@asynccontextmanager
async def running(
    tracker: FakeTracker, **options: object
) -> AsyncIterator[tuple[Agent, trio.Nursery]]:
    """Run an agent against ``tracker`` in the background; cancel it on exit."""
    async with tracker.client() as client, trio.open_nursery() as nursery:
        agent = Agent(
            sender=make_sender(client),
            options=AgentOptions(**options),  # type: ignore[arg-type]
            rng=random.Random(7),
            wall_clock=virtual_wall_clock,
        )
        await nursery.start(agent.run)
        yield agent, nursery
        nursery.cancel_scope.cancel()


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 6) for earlier, later in itertools.pairwise(times)]


def down_between(start: float, end: float) -> Callable[[httpx.Request, float], httpx.Response]:
    def reply(request: httpx.Request, now: float) -> httpx.Response:
        if start <= now < end:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return httpx.Response(200, json={})

    return reply


async def test_starts_at_once_then_every_interval(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, tmp_path: Path
) -> None:
    async with running(tracker, jitter=0.0, root=tmp_path):
        await trio.sleep(10)
    assert [beat.at for beat in tracker.beats] == [0.0, 3.0, 6.0, 9.0]
    assert [beat.body["Status"] for beat in tracker.beats] == ["OK"] * 4
    stamp = tracker.beats[1].body["TimeStamp"]
    assert stamp == "2026-01-01T00:00:03.000000+00:00"


async def test_jitter_varies_the_interval_within_bounds(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker
) -> None:
    async with running(tracker, jitter=0.1):
        await trio.sleep(300)
    intervals = gaps([beat.at for beat in tracker.beats])
    assert len(intervals) >= 90
    assert all(2.7 <= gap <= 3.3 for gap in intervals)
    assert len(set(intervals)) > 80
    assert abs(sum(intervals) / len(intervals) - 3.0) < 0.05


async def test_outage_retries_no_faster_than_the_interval_and_resumes_within_it(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hb_agent")
    tracker.reply = down_between(10.0, 100.0)
    async with running(tracker, jitter=0.1):
        await trio.sleep(130)
    times = [beat.at for beat in tracker.beats]
    during = [t for t in times if 10.0 <= t < 100.0]
    # Retries never come sooner than the interval (a failing fleet sends no more than a
    # healthy one, #15) nor later than the interval plus its jitter, so the first attempt
    # after the outage comes within one jittered interval of the tracker's return.
    assert min(gaps(during)) >= 3.0
    assert max(gaps(during)) <= 3.3
    first_after = min(t for t in times if t >= 100.0)
    assert first_after - 100.0 <= 3.3
    # Back to the normal pace afterwards.
    after = [t for t in times if t >= 100.0]
    assert all(2.7 <= gap <= 3.3 for gap in gaps(after))
    # A 90 s outage: the first failure, a summary at 30 s and 90 s, and the recovery.
    lines = [r.getMessage() for r in caplog.records if r.name == "hb_agent"]
    outage_lines = [line for line in lines if line.startswith("heartbeat")]
    assert len(outage_lines) <= 4, outage_lines
    assert outage_lines[0].startswith("heartbeat failed:")
    assert outage_lines[-1].startswith("heartbeats resumed after")


async def test_server_errors_back_off_too(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker
) -> None:
    tracker.reply = lambda _r, now: httpx.Response(503 if now < 20 else 200)
    async with running(tracker, jitter=0.0):
        await trio.sleep(30)
    times = [beat.at for beat in tracker.beats]
    assert gaps(times[:7]) == [3.0] * 6  # no jitter: exactly one interval apart
    assert min(t for t in times if t >= 20) <= 23.0


async def test_rejections_keep_the_normal_pace(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hb_agent")
    tracker.reply = lambda _r, _t: httpx.Response(400, json={"detail": "bad xname"})
    async with running(tracker, jitter=0.0):
        await trio.sleep(59)
    assert gaps([beat.at for beat in tracker.beats]) == [3.0] * 19
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "HTTP 400: bad xname" in errors[0]


async def test_an_unexpected_error_is_logged_once_and_survived(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_request: httpx.Request, now: float) -> httpx.Response:
        if now < 10:
            raise RuntimeError("bug")
        return httpx.Response(200)

    tracker.reply = broken
    async with running(tracker, jitter=0.0):
        await trio.sleep(20)
    assert max(beat.at for beat in tracker.beats) > 15
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1


async def test_params_cap_the_backoff_and_check_the_interval(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hb_agent")
    tracker.params = {"Warntime": "6", "Errtime": "12"}
    async with running(tracker, interval=3.0, params_refresh=60.0) as (agent, _):
        await trio.sleep(1)
        assert agent._backoff.cap == 3.0  # Warntime/3 is 2 s, but never below the interval
        await trio.sleep(200)  # re-read three times: warned once only
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not comfortably shorter than the tracker's Warntime (6s)" in warnings[0]
    assert len([b for b in tracker.requests if b.method == "GET"]) == 4


async def test_a_comfortable_interval_is_not_a_warning(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hb_agent")
    async with running(tracker, interval=3.0) as (agent, _):
        await trio.sleep(1)
        assert agent._backoff.cap == pytest.approx(3.3)  # the interval and its jitter
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("tracker Warntime is 10s" in r.getMessage() for r in caplog.records)


async def test_params_are_retried_until_reachable(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker
) -> None:
    def reply(request: httpx.Request, now: float) -> httpx.Response:
        return httpx.Response(200)

    tracker.reply = reply
    served: list[float] = []
    original = tracker.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            served.append(trio.current_time())
            if trio.current_time() < 100:
                return httpx.Response(503)
        return original(request)

    tracker.handler = handler  # type: ignore[method-assign]
    async with running(tracker, params_retry=60.0) as (agent, _):
        await trio.sleep(130)
        assert agent._backoff.cap == pytest.approx(3.3)
    assert served == [0.0, 60.0, 120.0]


async def test_kernel_oops_from_the_taint_flags(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, tmp_path: Path
) -> None:
    root = make_tree(tmp_path, tainted="4096\n")  # TAINT_OOT_MODULE only: fine
    async with running(tracker, jitter=0.0, root=root):
        await trio.sleep(4)
        (root / "proc/sys/kernel/tainted").write_text("4224\n")  # + TAINT_DIE (128)
        await trio.sleep(3)
    assert [beat.body["Status"] for beat in tracker.beats] == ["OK", "OK", "Kernel Oops"]


async def test_probe_status_and_priority(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, tmp_path: Path
) -> None:
    root = make_tree(tmp_path, tainted="0", meminfo=MEMINFO_LOW)
    probes = (
        MemoryProbe(name="memory", min_bytes=4 << 20, every=5.0),
        MemoryProbe(name="big", min_bytes=1 << 40, status="Too Small", every=5.0),
    )
    async with running(tracker, jitter=0.0, root=root, probes=probes):
        await trio.sleep(4)
        (root / "proc/meminfo").write_text(MEMINFO_OK)
        await trio.sleep(6)
        (root / "proc/sys/kernel/tainted").write_text("128")
        await trio.sleep(3)
    statuses = [(beat.at, beat.body["Status"]) for beat in tracker.beats]
    assert statuses[1:] == [
        (3.0, "Low memory: 2 MiB available"),
        (6.0, "Too Small"),
        (9.0, "Too Small"),
        (12.0, "Kernel Oops"),
    ]


async def test_a_hanging_probe_does_not_delay_heartbeats(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, tmp_path: Path
) -> None:
    hang = CommandProbe(name="hang", argv=("sleep", "1000"), timeout=1000.0, every=1.0)
    async with running(tracker, jitter=0.0, root=tmp_path, probes=(hang,)):
        await trio.sleep(31)
    assert [beat.at for beat in tracker.beats] == [3.0 * n for n in range(11)]
    assert {beat.body["Status"] for beat in tracker.beats} == {"OK"}


async def test_stop_announces_shutdown_last(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker
) -> None:
    async with running(tracker, jitter=0.0, announce_shutdown=True) as (agent, _):
        await trio.sleep(7)
        await agent.stop()
        stopped = trio.current_time()
        await trio.sleep(10)
    assert stopped == 7.0
    assert [(beat.at, beat.body["Status"]) for beat in tracker.beats] == [
        (0.0, "OK"),
        (3.0, "OK"),
        (6.0, "OK"),
        (7.0, "Shutdown"),
    ]
    assert tracker.beats[-1].body["TimeStamp"] == "2026-01-01T00:00:07.000000+00:00"


async def test_stop_without_announce_sends_nothing(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker
) -> None:
    async with running(tracker, jitter=0.0) as (agent, _):
        await trio.sleep(4)
        await agent.stop()
        await trio.sleep(10)
    assert [beat.body["Status"] for beat in tracker.beats] == ["OK", "OK"]


async def test_stop_lets_the_heartbeat_in_flight_land_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finished: list[tuple[str, float]] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        status = request.content.decode()
        if request.method == "POST":
            await trio.sleep(0.3)
            finished.append(("Shutdown" if "Shutdown" in status else "OK", trio.current_time()))
        return httpx.Response(200, json={"Warntime": "10"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
        agent = Agent(
            sender=make_sender(client),
            options=AgentOptions(jitter=0.0, announce_shutdown=True),
            wall_clock=virtual_wall_clock,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(agent.run)
            await trio.sleep(3.1)  # the second heartbeat is in flight until 3.3
            await agent.stop()
    assert [status for status, _ in finished] == ["OK", "OK", "Shutdown"]
    assert [at for _, at in finished] == pytest.approx([0.3, 3.3, 3.6])


async def test_stop_is_bounded_when_the_tracker_hangs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and trio.current_time() > 1:
            await trio.sleep_forever()
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        agent = Agent(
            sender=make_sender(client, timeout=3.0),
            options=AgentOptions(jitter=0.0, announce_shutdown=True, stop_timeout=0.8),
            wall_clock=virtual_wall_clock,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(agent.run)
            await trio.sleep(3.5)  # the heartbeat sent at 3.0 hangs
            await agent.stop()
            assert trio.current_time() == pytest.approx(4.3)


async def test_send_once_uses_the_current_status(
    autojump_clock: trio.testing.MockClock, tracker: FakeTracker, tmp_path: Path
) -> None:
    root = make_tree(tmp_path, tainted="128")
    async with tracker.client() as client:
        agent = Agent(
            sender=make_sender(client),
            options=AgentOptions(root=root),
            wall_clock=virtual_wall_clock,
        )
        await agent.send_once()
        await agent.send_once("Maintenance")
    assert [beat.body["Status"] for beat in tracker.beats] == ["Kernel Oops", "Maintenance"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"interval": 0}, "interval must be a positive"),
        ({"interval": float("inf")}, "interval must be a positive"),
        ({"jitter": 1.0}, "jitter"),
        ({"max_backoff": -1.0}, "max_backoff"),
        (
            {"probes": (MemoryProbe(name="m", min_bytes=1), MemoryProbe(name="m", min_bytes=2))},
            "unique",
        ),
    ],
)
def test_options_are_checked(options: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        AgentOptions(**options)  # type: ignore[arg-type]

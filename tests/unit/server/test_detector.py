"""The engine and its detector task on trio's autojump clock: transitions fire exactly on time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Kind
from hbtd_server.service import run_detector
from tests.unit.server.engine_support import Recorder, beat

# Every test takes ``autojump_clock``: pytest-trio only runs a test on virtual time when the
# test itself (not one of its fixtures) asks for the clock.

X = "x0c0s0b0n0"
Y = "x0c0s1b0n0"


@pytest.fixture
async def engine() -> AsyncIterator[tuple[Engine, Recorder]]:
    engine = Engine(DEFAULT_PARAMS.patched({"Warntime": "10", "Errtime": "30"}))
    recorder = Recorder()
    engine.listeners.append(recorder)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_detector, engine)
        yield engine, recorder
        nursery.cancel_scope.cancel()


async def test_warning_and_death_fire_exactly_at_their_deadlines(
    engine: tuple[Engine, Recorder],
    autojump_clock: trio.testing.MockClock,
) -> None:
    eng, recorder = engine
    start = trio.current_time()
    beat(eng, X)
    await trio.sleep(40)
    assert [(t - start, x, k) for t, x, k in recorder.seen] == [
        (0.0, X, Kind.STARTED),
        (10.0, X, Kind.WARNING),
        (30.0, X, Kind.DEAD),
    ]


async def test_new_component_wakes_a_detector_sleeping_on_a_later_deadline(
    engine: tuple[Engine, Recorder],
    autojump_clock: trio.testing.MockClock,
) -> None:
    eng, recorder = engine
    start = trio.current_time()
    beat(eng, X)
    await trio.sleep(12)  # X is in warning: the detector sleeps until its death at 30 s
    beat(eng, Y)
    await trio.sleep(10.5)  # past Y's deadline, so the detector has surely run
    assert (start + 22.0, Y, Kind.WARNING) in recorder.seen


async def test_restart_is_reported_at_once_and_rearms_the_warning(
    engine: tuple[Engine, Recorder],
    autojump_clock: trio.testing.MockClock,
) -> None:
    eng, recorder = engine
    start = trio.current_time()
    beat(eng, X)
    await trio.sleep(15)
    beat(eng, X)
    await trio.sleep(11)
    assert [(t - start, k) for t, _, k in recorder.seen] == [
        (0.0, Kind.STARTED),
        (10.0, Kind.WARNING),
        (15.0, Kind.RESTARTED),
        (25.0, Kind.WARNING),
    ]


async def test_steady_heartbeats_never_warn(
    engine: tuple[Engine, Recorder], autojump_clock: trio.testing.MockClock
) -> None:
    eng, recorder = engine
    for _ in range(100):
        beat(eng, X)
        await trio.sleep(3)
    assert [k for _, _, k in recorder.seen] == [Kind.STARTED]


async def test_lower_warntime_by_patch_takes_effect_for_tracked_components(
    engine: tuple[Engine, Recorder],
    autojump_clock: trio.testing.MockClock,
) -> None:
    eng, recorder = engine
    start = trio.current_time()
    beat(eng, X)
    await trio.sleep(2)
    eng.set_params(eng.params.patched({"Warntime": "4", "Errtime": "8"}))
    await trio.sleep(10)
    assert [(t - start, k) for t, _, k in recorder.seen] == [
        (0.0, Kind.STARTED),
        (4.0, Kind.WARNING),
        (8.0, Kind.DEAD),
    ]


async def test_the_ledger_keeps_only_the_latest_wish(
    engine: tuple[Engine, Recorder], autojump_clock: trio.testing.MockClock
) -> None:
    eng, _ = engine
    beat(eng, X)
    await trio.sleep(31)  # started, warning, dead: HSM was never asked (no notifier here)
    assert eng.books.wanted(X) is Kind.DEAD
    assert eng.books.pending_count == 1


async def test_nothing_fires_once_shutdown_has_begun(
    engine: tuple[Engine, Recorder],
    autojump_clock: trio.testing.MockClock,
) -> None:
    # While the server drains it takes no heartbeat: a deadline passing then is the tracker's
    # own silence, and reporting it would be a false alarm (seen under load with Warntime 3).
    eng, recorder = engine
    start = trio.current_time()
    beat(eng, X)
    await trio.sleep(5)
    beat(eng, Y)
    await trio.sleep(5)  # X warned at 10 s
    eng.stop_detecting()
    await trio.sleep(40)
    assert [(t - start, x, k) for t, x, k in recorder.seen] == [
        (0.0, X, Kind.STARTED),
        (5.0, Y, Kind.STARTED),
        (10.0, X, Kind.WARNING),
    ]

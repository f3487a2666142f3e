"""The mass-silence guard (issue 9), through the engine and detector on virtual time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import trio
import trio.testing

from hbtd_server import Engine
from hbtd_server.core import (
    DEFAULT_PARAMS,
    GuardSettings,
    Kind,
    SilenceGuard,
)
from hbtd_server.service import run_detector
from tests.unit.server.engine_support import Recorder, beat

W, E = 10, 30
CABINETS = [[f"x{1000 + c}c0s{s}b0n{n}" for s in range(8) for n in range(2)] for c in range(8)]
FLEET = [x for cabinet in CABINETS for x in cabinet]  # 128 nodes in 8 cabinets


async def fleet_beats(engine: Engine, alive: set[str], *, period: float = 3.0) -> None:
    while True:
        beat(engine, *sorted(alive))
        await trio.sleep(period)


async def play(
    engine: Engine, steps: Sequence[tuple[float, Callable[[set[str]], None]]]
) -> Recorder:
    """Run the detector and a fleet beating every 3 s; apply each step to the set of live nodes
    after sleeping its delay; return what was reported."""
    recorder = Recorder(trio.current_time())
    engine.listeners.append(recorder)
    alive = set(FLEET)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_detector, engine)
        nursery.start_soon(fleet_beats, engine, alive)
        for delay, change in steps:
            await trio.sleep(delay)
            change(alive)
        nursery.cancel_scope.cancel()
    return recorder


def make_engine(**guard: str) -> Engine:
    return Engine(
        DEFAULT_PARAMS.patched({"Warntime": str(W), "Errtime": str(E), **guard}),
        clock=trio.current_time,
    )


def silence_all(alive: set[str]) -> None:
    alive.clear()


def wait(alive: set[str]) -> None:
    del alive  # a step that only lets time pass


async def test_total_silence_holds_alerts_until_the_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = make_engine(Guard_hold="120")
    # The whole machine goes quiet after the beats at 18 s.
    recorder = await play(engine, [(20, silence_all), (200, wait)])
    warnings, deaths = recorder.of(Kind.WARNING), recorder.of(Kind.DEAD)
    assert len(warnings) == len(FLEET)  # warnings are still reported
    assert len(deaths) == len(FLEET)
    engaged_at = 18 + W  # last heartbeat + Warntime
    assert {t for t, _ in deaths} == {engaged_at + 120}  # all released at the hold limit
    assert engine.guard.status().held == 0


async def test_one_cabinet_losing_power_is_never_held(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = make_engine()
    recorder = await play(
        engine, [(20, lambda alive: alive.difference_update(CABINETS[0])), (40, wait)]
    )
    deaths = recorder.of(Kind.DEAD)
    assert sorted(x for _, x in deaths) == sorted(CABINETS[0])
    assert {t for t, _ in deaths} == {18 + E}  # at Errtime, not held
    assert engine.guard.status().engaged_since is None


async def test_network_cut_longer_than_errtime_raises_no_alert(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = make_engine()
    # The tracker hears no one from 18 s until 60 s: longer than Errtime.
    recorder = await play(
        engine, [(20, silence_all), (40, lambda alive: alive.update(FLEET)), (40, wait)]
    )
    assert recorder.of(Kind.DEAD) == []
    started_again = {x for _, x in recorder.of(Kind.STARTED)}
    assert started_again == set(FLEET)  # they were dropped at Errtime; they start again
    assert engine.guard.status().engaged_since is None
    # HSM's wish is back to Ready/OK for every node: nothing stale is left.
    assert all(engine.books.wanted(x) is Kind.STARTED for x in FLEET)


async def test_part_of_the_fleet_returning_releases_the_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = make_engine()
    # Only cabinet 0 comes back: it is alive again at 59.5 s and beats at 60 s. (Not at 60 s
    # itself: the fleet's own beat falls then, and which of the two runs first would decide.)
    recorder = await play(
        engine, [(20, silence_all), (39.5, lambda alive: alive.update(CABINETS[0])), (40, wait)]
    )
    deaths = recorder.of(Kind.DEAD)
    assert {x for _, x in deaths} == set(FLEET) - set(CABINETS[0])
    assert {t for t, _ in deaths} == {60 + W}  # after a Warntime of grace, not 5 minutes


async def test_guard_disabled_behaves_as_before(autojump_clock: trio.testing.MockClock) -> None:
    engine = make_engine(Guard_share="0")
    recorder = await play(engine, [(20, silence_all), (40, wait)])
    assert {t for t, _ in recorder.of(Kind.DEAD)} == {18 + E}


async def test_disabling_the_guard_while_it_holds_releases_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    engine = make_engine()

    def disable(alive: set[str]) -> None:
        assert engine.guard.status().held == len(FLEET)
        engine.set_params(engine.params.patched({"Guard_share": "0"}))

    recorder = await play(engine, [(20, silence_all), (40, disable), (1, wait)])
    assert {t for t, _ in recorder.of(Kind.DEAD)} == {60}


def test_small_fleets_never_engage() -> None:
    guard = SilenceGuard(GuardSettings(share=0.5, min_count=20))
    held = guard.filter([], 100.0, tracked=10, warning=10, warntime=10)
    assert held == []
    assert guard.engaged_since is None


@pytest.mark.parametrize(("share", "min_count", "hold"), [(-0.1, 1, 1), (1.5, 1, 1), (0.5, 0, 1)])
def test_settings_are_checked(share: float, min_count: int, hold: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        GuardSettings(share=share, min_count=min_count, hold_limit=hold)

"""``LiveView`` and ``run_refresher``: frames are drawn on trio time, so a MockClock drives them."""

from __future__ import annotations

import io

import pytest
import trio
import trio.testing
from rich.console import Console

from hb_sim.view import LiveView, ViewSnapshot, run_refresher


def terminal() -> Console:
    return Console(
        width=80,
        height=24,
        color_system=None,
        force_terminal=True,
        file=io.StringIO(),
        legacy_windows=False,
    )


def output(console: Console) -> str:
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


class Frames:
    """A snapshot source that remembers when each frame was taken."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self) -> ViewSnapshot:
        self.times.append(trio.current_time())
        return ViewSnapshot(title=f"frame {len(self.times)}", time=trio.current_time())


async def test_refresher_draws_every_period_of_trio_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    console = terminal()
    frames = Frames()
    with LiveView(console=console) as view:
        async with trio.open_nursery() as nursery:
            await nursery.start(run_refresher, view, frames, 1.0)
            assert frames.times == [0.0]
            assert view.snapshot is not None
            assert view.snapshot.title == "frame 1"
            await trio.sleep(3.5)
            nursery.cancel_scope.cancel()
    assert frames.times == [0.0, 1.0, 2.0, 3.0]
    assert "frame 4" in output(console)
    assert "up 0:00:03" in output(console)


async def test_refresher_skips_frames_closer_than_the_wall_gap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    frames = Frames()
    with LiveView(console=terminal()) as view:
        async with trio.open_nursery() as nursery:
            # The wall clock stands still while virtual time races: only the first frame is
            # drawn on time, and the latest one when the refresher stops.
            await nursery.start(
                lambda task_status: run_refresher(
                    view,
                    frames,
                    1.0,
                    min_wall_gap=0.5,
                    wall_clock=lambda: 7.0,
                    task_status=task_status,
                )
            )
            await trio.sleep(10.5)
            nursery.cancel_scope.cancel()
    assert frames.times == [0.0, 10.5]
    assert view.snapshot is not None
    assert view.snapshot.title == "frame 2"


def test_update_without_refresh_draws_nothing_until_asked() -> None:
    console = terminal()
    with LiveView(console=console) as view:
        view.update(ViewSnapshot(title="quiet", time=0))
        assert "quiet" not in output(console)
        view.refresh()
        assert "quiet" in output(console)


@pytest.mark.parametrize("period", [0.0, -1.0, float("nan")])
async def test_period_must_be_positive(period: float) -> None:
    with pytest.raises(ValueError, match="period"):
        await run_refresher(LiveView(console=terminal()), Frames(), period)

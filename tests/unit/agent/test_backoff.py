"""Retry delays, and the proof that a failing fleet never sends faster than a healthy one (#15)."""

from __future__ import annotations

import random

import pytest

from hb_agent._backoff import Backoff

INTERVAL = 3.0
JITTER = 0.1


def test_delays_grow_from_the_interval_up_to_the_cap() -> None:
    backoff = Backoff(floor=3.0, cap=30.0, rng=random.Random(1))
    ceilings = [6.0, 12.0, 24.0, 30.0, 30.0, 30.0]
    for ceiling in ceilings:
        delay = backoff.next_delay()
        assert 3.0 <= delay <= ceiling


def test_never_sooner_than_the_interval_nor_longer_than_the_cap() -> None:
    backoff = Backoff(floor=2.0, cap=2.2, rng=random.Random(2))
    delays = [backoff.next_delay() for _ in range(10_000)]
    assert min(delays) >= 2.0
    assert max(delays) <= 2.2


def test_reset_starts_over() -> None:
    backoff = Backoff(floor=1.0, cap=64.0, rng=random.Random(3))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 2.0


def test_a_cap_below_the_interval_counts_as_the_interval() -> None:
    # Warntime/3 can be shorter than the interval: a retry still waits one interval.
    backoff = Backoff(floor=3.0, cap=10.0, rng=random.Random(4))
    backoff.set_cap(2.0)
    assert backoff.cap == 3.0
    assert backoff.next_delay() == 3.0


@pytest.mark.parametrize("value", [0.0, -1.0, float("inf"), float("nan")])
def test_floor_and_cap_must_be_positive_and_finite(value: float) -> None:
    with pytest.raises(ValueError, match="cap"):
        Backoff(floor=1.0, cap=value)
    with pytest.raises(ValueError, match="floor"):
        Backoff(floor=value, cap=1.0)


def test_jitter_spreads_a_fleet() -> None:
    fleet = [Backoff(floor=3.0, cap=3.3, rng=random.Random(seed)) for seed in range(100)]
    first = {round(backoff.next_delay(), 6) for backoff in fleet}
    assert len(first) > 90


def healthy_schedule(rng: random.Random, until: float) -> list[float]:
    """One agent's send times while every heartbeat is taken (the agent's own jitter)."""
    times, at = [], rng.uniform(0, INTERVAL)
    while at < until:
        times.append(at)
        at += INTERVAL * rng.uniform(1 - JITTER, 1 + JITTER)
    return times


def failing_schedule(rng: random.Random, until: float, cap: float) -> list[float]:
    """One agent's attempts while the tracker takes nothing: each one fails and backs off."""
    backoff = Backoff(floor=INTERVAL, cap=cap, rng=rng)
    times, at = [], rng.uniform(0, INTERVAL)
    while at < until:
        times.append(at)
        at += backoff.next_delay()
    return times


def per_second(schedules: list[list[float]], start: float, end: float) -> list[int]:
    bins = [0] * int(end - start)
    for times in schedules:
        for at in times:
            if start <= at < end:
                bins[int(at - start)] += 1
    return bins


@pytest.mark.parametrize(
    "cap",
    [
        INTERVAL * (1 + JITTER),  # the default: the interval plus its jitter
        10.0 / 3,  # capped at a third of upstream's default Warntime
        INTERVAL,  # --max-backoff at (or below) the interval
        60.0,  # a long --max-backoff
    ],
)
def test_a_failing_fleet_never_sends_faster_than_a_healthy_one(cap: float) -> None:
    agents, until = 2_000, 600.0
    rng = random.Random(15)
    healthy = [healthy_schedule(rng, until) for _ in range(agents)]
    failing = [failing_schedule(rng, until, cap) for _ in range(agents)]
    # From the start of the outage (every agent failing from its first attempt) to its end.
    healthy_rate = per_second(healthy, 0, until)
    failing_rate = per_second(failing, 0, until)
    assert sum(failing_rate) <= sum(healthy_rate)
    # Not only on average: no second of the outage is busier than the healthy fleet's busiest
    # seconds (Poisson noise of ~670 per second is about 26; allow four of it).
    assert max(failing_rate) <= max(healthy_rate) + 4 * 26
    if cap <= 2 * INTERVAL:
        # And it does not bunch up: its busiest second is close to its mean. (A long cap
        # thins the fleet out after the first attempts, so its mean says nothing.)
        mean = sum(failing_rate) / len(failing_rate)
        assert max(failing_rate) <= mean * 1.25

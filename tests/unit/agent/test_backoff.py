from __future__ import annotations

import random

import pytest

from hb_agent import Backoff


def test_delays_double_with_equal_jitter_up_to_the_cap() -> None:
    backoff = Backoff(cap=3.0, rng=random.Random(1))
    ceilings = [0.375, 0.75, 1.5, 3.0, 3.0, 3.0]
    for ceiling in ceilings:
        delay = backoff.next_delay()
        assert ceiling / 2 <= delay <= ceiling


def test_never_longer_than_the_cap_even_after_a_long_outage() -> None:
    backoff = Backoff(cap=2.0, first=0.1, rng=random.Random(2))
    delays = [backoff.next_delay() for _ in range(10_000)]
    assert max(delays) <= 2.0
    assert min(delays[10:]) >= 1.0


def test_reset_starts_over() -> None:
    backoff = Backoff(cap=8.0, rng=random.Random(3))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_cap_can_shrink_and_first_never_exceeds_it() -> None:
    backoff = Backoff(cap=10.0, first=5.0, rng=random.Random(4))
    backoff.set_cap(1.0)
    assert backoff.cap == 1.0
    assert backoff.next_delay() <= 1.0


@pytest.mark.parametrize("cap", [0.0, -1.0, float("inf"), float("nan")])
def test_cap_must_be_positive_and_finite(cap: float) -> None:
    with pytest.raises(ValueError, match="cap"):
        Backoff(cap=cap)


def test_jitter_spreads_a_fleet() -> None:
    fleet = [Backoff(cap=3.0, rng=random.Random(seed)) for seed in range(100)]
    first = {round(backoff.next_delay(), 6) for backoff in fleet}
    assert len(first) > 90

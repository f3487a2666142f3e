"""The simulator's one reach into trio's internals: present, used, and put back."""

from __future__ import annotations

import inspect

import trio
import trio.testing

from hb_sim.run._trio_order import repeatable_order, trio_internals


def test_trio_still_has_what_repeatable_order_replaces() -> None:
    # If this fails, trio changed its scheduler: update hb_sim/run/_trio_order.py.
    found = trio_internals()
    assert found is not None, "trio._core._run._r or Deadlines.add is gone"
    _, deadlines = found
    params = list(inspect.signature(deadlines.add).parameters)
    assert params == ["self", "deadline", "cancel_scope"], params
    heap_entry = trio._core._run.Deadlines.__attrs_attrs__
    assert {a.name for a in heap_entry} >= {"_heap", "_active"}


def test_it_restores_what_it_changes() -> None:
    found = trio_internals()
    assert found is not None
    rng, deadlines = found
    add, state = deadlines.add, rng.getstate()
    with repeatable_order("seed"):
        assert deadlines.add is not add
    assert deadlines.add is add
    assert rng.getstate() == state


def test_the_same_seed_gives_the_same_order() -> None:
    def order(seed: str) -> list[int]:
        seen: list[int] = []

        async def main() -> None:
            async def sleeper(i: int) -> None:
                await trio.sleep(1.0)
                seen.append(i)

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(sleeper, i)

        with repeatable_order(seed):
            trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        return seen

    assert order("a") == order("a")
    assert sorted(order("b")) == list(range(20))

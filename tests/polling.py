"""Waiting for something with a deadline, never sleeping and hoping."""

from __future__ import annotations

from collections.abc import Callable

import trio

__all__ = ["until"]


async def until(predicate: Callable[[], bool], *, within: float = 30.0, step: float = 0.02) -> None:
    """Poll ``predicate`` every ``step`` seconds until it holds.

    Raises:
        trio.TooSlowError: it did not hold within ``within`` seconds.
    """
    with trio.fail_after(within):
        while not predicate():  # noqa: ASYNC110  (a plain predicate: nothing to wait on)
            await trio.sleep(step)

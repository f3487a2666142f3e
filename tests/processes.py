"""Child processes of tests: stopped for sure, whatever the test did."""

from __future__ import annotations

import trio

__all__ = ["kill"]


async def kill(process: trio.Process) -> None:
    """Kill ``process`` unless it has exited, then wait for it.

    The wait is shielded: this runs in ``finally`` blocks, often while being cancelled.
    """
    if process.returncode is None:
        process.kill()
    with trio.CancelScope(shield=True):
        await process.wait()

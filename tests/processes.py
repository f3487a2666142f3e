"""Child processes of tests: stopped for sure, whatever the test did."""

from __future__ import annotations

import subprocess

import trio

__all__ = ["communicate_or_kill", "kill"]


async def kill(process: trio.Process) -> None:
    """Kill ``process`` unless it has exited, then wait for it.

    The wait is shielded: this runs in ``finally`` blocks, often while being cancelled.
    """
    if process.returncode is None:
        process.kill()
    with trio.CancelScope(shield=True):
        await process.wait()


def communicate_or_kill(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """``process.communicate(timeout)``; if it times out, kill and reap the process first.

    A process left running (or its pipes left open) would fail a later test with a
    ResourceWarning instead of failing this one alone.
    """
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise

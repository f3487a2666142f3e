"""Keeping the daemon small: memory it no longer needs after start-up.

The agent runs on every node for months with a budget of 40 MB resident. What it imports is
kept small by packaging: the bare ``hbtd-py`` distribution (what a node installs) depends on
click, httpx, trio and PyYAML only, so the tracker's web stack, Kafka, rich and HTTP/2 are not
even installed there.
"""

from __future__ import annotations

import gc

__all__ = ["settle_memory"]


def settle_memory() -> None:
    """Tidy up once start-up is over: for a process that then runs for months.

    The objects made by start-up (modules, classes: about 30,000) live for ever; freezing them
    keeps the cyclic garbage collector from walking them again on every full collection.
    Start-up (imports, the first connection) also leaves free pages inside the C heap that
    glibc would keep resident for the life of the process; ``malloc_trim`` gives them back
    (about 3 MB). Without glibc, that part does nothing.
    """
    gc.collect()
    gc.freeze()
    try:
        import ctypes  # already loaded by trio; deferred so a libc-less platform still works

        libc = ctypes.CDLL(None)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except (OSError, AttributeError):
        pass

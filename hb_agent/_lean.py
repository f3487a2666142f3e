"""Keeping the daemon small: optional extras it never uses, and memory it no longer needs.

The agent runs on every node for months with a budget of 40 MB resident. Two dependencies load
optional extras whenever those happen to be installed, as they are wherever the tracker and the
simulator are installed too:

* ``httpx`` imports its command-line client, and with it rich and pygments (about 4 MB).
* ``httpcore`` imports ``h2`` for HTTP/2; ``hpack`` builds tables at import (13 MB at the peak,
  3 MB kept). The agent speaks HTTP/1.1 only.

Both libraries guard those imports with ``try: ... except ImportError``, the path they take
when the extra is not installed. A ``None`` entry in ``sys.modules`` makes the import raise
exactly that. Each block applies only if the library that would do the import is not loaded
yet, so it never changes a library already in use. The httpx one is applied when this module
is imported (first thing in ``hb_agent/__init__.py``): nothing in the project uses httpx's
command line. The HTTP/2 one only by ``hb-agent run``, a process of its own, because the
tracker's web server needs ``h2``.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["settle_memory", "skip_http2", "skip_httpx_cli"]


def skip_httpx_cli() -> None:
    """Keep httpx from importing its command-line client (rich, pygments)."""
    if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]  # None blocks an import


def skip_http2() -> None:
    """Keep httpcore from importing h2/hpack; call before the first ``httpx.AsyncClient``."""
    if "httpcore" not in sys.modules and "h2" not in sys.modules:
        sys.modules["h2"] = None  # type: ignore[assignment]  # None blocks an import


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


skip_httpx_cli()

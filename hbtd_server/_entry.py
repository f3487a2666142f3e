"""The ``hbtd`` program's entry point: Ctrl-C while it is still loading is one line, exit 130.

Loading the web stack takes a second or two on a busy machine, before ``main`` can install
anything; Python's default SIGINT handler would print a traceback from deep inside an import.
This module imports nothing heavy itself, so it can catch that (#15).
"""

from __future__ import annotations

import sys

from ._exits import EXIT_INTERRUPTED

__all__ = ["run"]


def run() -> None:
    """Load the command line, then run it."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("hbtd: interrupted while starting", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    main()

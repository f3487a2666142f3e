"""The ``hbtd`` program's entry point: a missing extra or an early Ctrl-C is one line.

Loading the web stack takes a second or two on a busy machine, before ``main`` can install
anything; Python's default SIGINT handler would print a traceback from deep inside an import.
On a bare install (the agent's package, without ``[server]``) that import fails instead, and
the traceback would name a module rather than what to install. This module imports nothing
heavy itself, so it can say both in one line.
"""

from __future__ import annotations

import sys

from ._exits import EXIT_INTERRUPTED, EXIT_USAGE

__all__ = ["run"]


def run() -> None:
    """Load the command line, then run it."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("hbtd: interrupted while starting", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except ModuleNotFoundError:
        # Only now is the package's metadata read: a normal start pays nothing for this.
        from ._extras import missing_for_extra

        missing = missing_for_extra("server")
        if missing is None:
            raise  # not a missing extra: a broken install, whose traceback says more
        print(
            f"hbtd: the tracker needs the server extra ({missing} is not installed):"
            " pip install 'hbtd-py[server]'",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    main()

"""The ``hb-sim`` program's entry point: without the ``[sim]`` extra, one line that says so.

The simulator runs a tracker in process and draws with rich; a bare install (the agent's
package) has neither, and the first command would die in an import with a traceback.
"""

from __future__ import annotations

import sys

import hbtd_server

__all__ = ["run"]

#: Exit status for bad usage, as the command line's (``hb_sim.cli.EXIT_INVALID``).
_EXIT_INVALID = 2


def run() -> None:
    """Check the ``[sim]`` extra, then run the command line."""
    missing = hbtd_server.missing_for_extra("sim")
    if missing is not None:
        print(
            f"hb-sim: the simulator needs the sim extra ({missing} is not installed):"
            " pip install 'hbtd-py[sim]'",
            file=sys.stderr,
        )
        sys.exit(_EXIT_INVALID)
    from .cli import main

    main()

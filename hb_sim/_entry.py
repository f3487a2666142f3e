"""The ``hb-sim`` program's entry point: without the ``[sim]`` extra, one line that says so.

The simulator runs a tracker in process and draws with rich; a bare install (the agent's
package) has neither, and the first command would die in an import with a traceback. Its
heavy modules are imported by each command, so the check is made before any: cheaply (are two
modules that only the extra brings there?), and from the package's metadata only when not, or
when a command's import fails after all.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import NoReturn

import hbtd_server

__all__ = ["run"]

#: Exit status for bad usage, as the command line's (``hb_sim.cli.EXIT_INVALID``).
_EXIT_INVALID = 2
#: Modules that only the [sim] extra brings: rich itself, and the tracker's web stack.
_SENTINELS = ("rich", "quart_trio")


def _missing_extra(fallback: str) -> NoReturn:
    missing = hbtd_server.missing_for_extra("sim") or fallback
    print(
        f"hb-sim: the simulator needs the sim extra ({missing} is not installed):"
        " pip install 'hbtd-py[sim]'",
        file=sys.stderr,
    )
    sys.exit(_EXIT_INVALID)


def run() -> None:
    """Check the ``[sim]`` extra, then run the command line."""
    for module in _SENTINELS:
        if importlib.util.find_spec(module) is None:
            _missing_extra(module)
    from .cli import main

    try:
        main()
    except ModuleNotFoundError as error:
        if hbtd_server.missing_for_extra("sim") is None:
            raise
        _missing_extra(error.name or "a module")

"""Log output of hbtd: where the lines go and how many.

The lines themselves (text, or JSON for log shippers) are the core's ``log_formatter``, shared
with hb-agent and the mock HSM.

Verbosity follows ``Debug`` (flag or ``PATCH /params``, applied live by the service through
:func:`apply_debug_level`; the engine itself never touches process-wide logging): 0 is
INFO, with transitions summarised per wave; 1 adds one line per transition with both clocks;
2 adds one line per heartbeat.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from ..core import LOG_FORMATS, JsonFormatter, LogFormat, RedactingFormatter, log_formatter

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "LogFormat",
    "RedactingFormatter",
    "apply_debug_level",
    "configure_logging",
]


def configure_logging(*, log_format: LogFormat, debug: int, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (default stderr) in ``log_format``.

    Args:
        log_format: ``text`` (one human line per record) or ``json`` (one JSON object per line).
        debug: the starting ``Debug`` value; 0 is INFO, more is DEBUG.
        stream: where to write.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(log_formatter(log_format))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Debug is the tracker's own verbosity (the ``hbtd`` loggers), which PATCH /params changes
    # live; libraries stay at INFO whatever it is.
    root.setLevel(logging.INFO)
    apply_debug_level(debug)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def apply_debug_level(debug: int) -> None:
    """Set the ``hbtd`` loggers' level from ``Debug``: 0 is INFO, more is DEBUG.

    The logging tree is process-wide, so only the process's owner calls this (the command line
    at start, the service when ``PATCH /params`` changes ``Debug``), never an engine: several
    engines may share one process (tests, the simulator).
    """
    logging.getLogger("hbtd").setLevel(logging.DEBUG if debug else logging.INFO)

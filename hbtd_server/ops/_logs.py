"""Log output: upstream-style text lines, or JSON lines for log shippers (#8).

A JSON line carries ``timestamp`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``,
``event``, ``message`` and the record's fields. ``event`` is the name a call passes as
``extra={"event": ...}`` (``wave``, ``transition``, ``heartbeat``...), or else the message
template itself, which is as stable as the code line that logs it. Fields are whatever else
the call passed in ``extra``; positional arguments of other records go in ``args``.

Verbosity follows ``Debug`` (flag or ``PATCH /params``, applied live by the service through
:func:`apply_debug_level`; the engine itself never touches process-wide logging): 0 is
INFO, with transitions summarised per wave; 1 adds one line per transition with both clocks;
2 adds one line per heartbeat.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from ..core import redact_text

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "LogFormat",
    "RedactingFormatter",
    "apply_debug_level",
    "configure_logging",
]

LogFormat = Literal["text", "json"]
#: The values of ``--log-format``.
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter so that no line shows a URL's password (#13).

    Every record goes through it, the tracker's and its libraries' (httpx, hypercorn), with
    its arguments, fields and traceback already rendered.
    """

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` with ``inner``, then redact the user-info of every URL."""
        return redact_text(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record``; values JSON cannot encode are written as their ``str``."""
        document: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or str(record.msg),
            "message": record.getMessage(),
        }
        extra = {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRIBUTES and key != "event"
        }
        if extra:
            document.update(extra)
        elif isinstance(record.args, tuple) and record.args:
            document["args"] = list(record.args)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


def configure_logging(*, log_format: LogFormat, debug: int, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (default stderr) in ``log_format``.

    Args:
        log_format: ``text`` (one human line per record) or ``json`` (one JSON object per line).
        debug: the starting ``Debug`` value; 0 is INFO, more is DEBUG.
        stream: where to write.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        RedactingFormatter(
            JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT)
        )
    )
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

"""The one log line of hbtd, hb-agent, the mock HSM and a report's tracker.log.

Text: ``2026-11-25 10:13:51,019 WARNING hbtd: Heartbeat stopped -- ...`` (time, level, logger,
message). JSON, for log shippers: one object per line with ``timestamp`` (UTC, ISO 8601,
milliseconds), ``level``, ``logger``, ``event``, ``message`` and the record's fields. ``event``
is the name a call passes as ``extra={"event": ...}`` (``wave``, ``transition``...), or else
the message template itself, which is as stable as the code line that logs it. Fields are
whatever else the call passed in ``extra``; positional arguments of other records go in
``args``. Every line, of either format, is redacted of URL passwords.

It lives in the core, beside the redaction, because the bare agent (no server extra) writes
these lines too; only the standard library is used.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from ._redact import redact_text

__all__ = [
    "LOG_FORMATS",
    "TEXT_LOG_FORMAT",
    "JsonFormatter",
    "LogFormat",
    "RedactingFormatter",
    "log_formatter",
    "plural",
]

LogFormat = Literal["text", "json"]
#: The values of ``--log-format``.
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
#: The text line: time, level, logger, message.
TEXT_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter so that no line shows a URL's password.

    Every record goes through it, the program's and its libraries' (httpx, hypercorn), with
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


def log_formatter(
    log_format: LogFormat = "text", *, text: str = TEXT_LOG_FORMAT
) -> RedactingFormatter:
    """The formatter of every program's log lines.

    Args:
        log_format: ``text`` (one human line per record) or ``json`` (one object per line).
        text: the text layout; only a journal, which stamps the time itself, drops the time.

    Returns:
        A redacting formatter of that format.
    """
    return RedactingFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(text))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 component``, ``2 components``: a count with its noun in the right number.

    Args:
        count: how many.
        noun: the singular.
        nouns: the plural, when it is not ``noun + "s"``.
    """
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"

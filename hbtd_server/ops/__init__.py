"""Operating the tracker: Prometheus metrics and log formats.

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._logs import (
    LOG_FORMATS,
    JsonFormatter,
    LogFormat,
    RedactingFormatter,
    apply_debug_level,
    configure_logging,
)
from ._metrics import (
    METRICS_CONTENT_TYPE,
    PATCH_OUTCOMES,
    Metrics,
    TelemetryCounters,
)

__all__ = [
    "LOG_FORMATS",
    "METRICS_CONTENT_TYPE",
    "PATCH_OUTCOMES",
    "JsonFormatter",
    "LogFormat",
    "Metrics",
    "RedactingFormatter",
    "TelemetryCounters",
    "apply_debug_level",
    "configure_logging",
]

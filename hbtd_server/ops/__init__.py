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
    HEARTBEAT_REJECTION_REASONS,
    METRICS_CONTENT_TYPE,
    PATCH_OUTCOMES,
    Metrics,
    TelemetryCounters,
    count_rejected_heartbeat,
    heartbeat_rejection_reason,
)

__all__ = [
    "HEARTBEAT_REJECTION_REASONS",
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
    "count_rejected_heartbeat",
    "heartbeat_rejection_reason",
]

"""The tracker's wave lines: transitions summarised per kind, not one line per node.

A wave of 1,000 deaths is one line, ``Heartbeat stopped -- declared dead: 1000 components (e.g.
x1000c0s0b0n0); 9000 tracked``, and so is a wave of nodes that announced their shutdown
(Status ``Shutdown``: forgotten without an alarm), which would otherwise leave no trace.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ._logline import plural
from ._states import Kind

__all__ = ["WaveLog"]


@dataclass(slots=True)
class WaveLog:
    """What happened since the last summary.

    Attributes:
        counts: transitions per kind (the engine counts them inline: it is near the hot path).
        examples: the first component of each kind.
        shutdowns: components that announced their shutdown and are no longer tracked.
        shutdown_example: the first of them.
    """

    counts: Counter[Kind] = field(default_factory=Counter)
    examples: dict[Kind, str] = field(default_factory=dict)
    shutdowns: int = 0
    shutdown_example: str = ""

    def shutdown(self, xname: str) -> None:
        """Count one component forgotten on its announced shutdown."""
        self.shutdowns += 1
        self.shutdown_example = self.shutdown_example or xname

    def summaries(self, tracked: int) -> list[tuple[int, str, dict[str, Any]]]:
        """One ``(level, message, fields)`` per kind seen; warnings and deaths are WARNING.

        Args:
            tracked: how many components are tracked now.
        """
        seen = [
            (k.hsm.message, k.name.lower(), n, self.examples[k]) for k, n in self.counts.items()
        ]
        if self.shutdowns:
            seen.append(("Announced shutdown", "shutdown", self.shutdowns, self.shutdown_example))
        return [
            (
                logging.WARNING if kind in ("warning", "dead") else logging.INFO,
                f"{label}: {plural(count, 'component')} (e.g. {example}); {tracked} tracked",
                {
                    "event": "wave",
                    "kind": kind,
                    "count": count,
                    "example": example,
                    "tracked": tracked,
                },
            )
            for label, kind, count, example in seen
        ]

"""Driving an ``Engine`` in unit tests: heartbeats in, transitions recorded."""

from __future__ import annotations

from collections.abc import Sequence

import trio

from hbtd_server import Engine
from hbtd_server.core import Heartbeat, Kind, Transition

__all__ = ["STAMP", "Recorder", "beat"]

#: The sender timestamp of test heartbeats (the tracker keeps it only for telemetry).
STAMP = "2026-11-25T10:00:00+00:00"


def beat(engine: Engine, *xnames: str, status: str = "OK") -> None:
    """One heartbeat from each of ``xnames``, in order."""
    for xname in xnames:
        engine.heartbeat(Heartbeat(xname, status, STAMP))


class Recorder:
    """An engine listener that keeps every transition with its trio time since ``start``."""

    def __init__(self, start: float = 0.0) -> None:
        self.start = start
        self.seen: list[tuple[float, str, Kind]] = []

    def __call__(self, transitions: Sequence[Transition]) -> None:
        now = trio.current_time() - self.start
        self.seen.extend((now, t.xname, t.kind) for t in transitions)

    def of(self, kind: Kind) -> list[tuple[float, str]]:
        """The (time, xname) of each transition of ``kind``."""
        return [(t, x) for t, x, k in self.seen if k is kind]

"""Is a live test's own fleet keeping time? If not, a failure says nothing about the tracker.

A live fleet plays a thousand nodes from the test process. On a loaded machine (other work on
every core) that process can fall behind: its nodes beat late, so the tracker rightly warns
about live nodes, or a deadline in the test passes before the tracker had its share of CPU.
``FleetWatch`` measures, while the test runs, how late the test's own trio loop wakes up and
how long past its period any beating node went without a heartbeat. ``inconclusive_if_late``
turns a failure into a skip that says "inconclusive" with those numbers when they exceed the
test's tolerance; a failure with a punctual fleet stays a failure (#15).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import trio

from hb_sim.fleet import LiveFleet

__all__ = ["INCONCLUSIVE", "FleetWatch", "inconclusive_if_late", "inconclusive_if_slow_machine"]

#: The share of a core a fresh interpreter gets while loading hbtd (CPU time / wall time):
#: about 1 on a quiet machine; below this, the machine is too busy for a start-up deadline.
BUSY_SHARE = 0.6

#: Reasons of the tests skipped as inconclusive and not yet reported.
INCONCLUSIVE: list[str] = []

_TICK = 0.05
_GAP_CHECK = 0.25


class FleetWatch:
    """Measures the test process's scheduling lag and its fleet's late heartbeats.

    Args:
        tolerance: seconds of lateness beyond which a failure is inconclusive.
    """

    def __init__(self, *, tolerance: float) -> None:
        self.tolerance = tolerance
        self.fleet: LiveFleet | None = None
        self.max_lag = 0.0
        self.max_gap = 0.0
        self.late_node = ""

    def follow(self, fleet: LiveFleet) -> None:
        """Watch ``fleet``'s heartbeats from now on."""
        self.fleet = fleet

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Measure until cancelled."""
        task_status.started()
        next_gap_check = trio.current_time()
        while True:
            due = trio.current_time() + _TICK
            await trio.sleep_until(due)
            now = trio.current_time()
            self.max_lag = max(self.max_lag, now - due)
            if now >= next_gap_check:
                self._check_gaps(now)
                next_gap_check = now + _GAP_CHECK

    def _check_gaps(self, now: float) -> None:
        # The fleet measures its own schedule: the worst gap between two beats of a node.
        del now
        worst = self.fleet.gaps() if self.fleet is not None else []
        if worst and worst[0].gap - worst[0].allowed > self.max_gap:
            self.max_gap, self.late_node = worst[0].gap - worst[0].allowed, worst[0].xname

    def lateness(self) -> str | None:
        """Why a failure would be inconclusive, or None while the fleet kept time."""
        if max(self.max_lag, self.max_gap) <= self.tolerance:
            return None
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        return (
            f"the test's own fleet fell behind (a node went {self.max_gap:.2f} s past its "
            f"period without a heartbeat, the test process woke up to {self.max_lag:.2f} s "
            f"late; tolerance {self.tolerance:g} s; load average {load})"
        )


def _is_test_failure(error: BaseException) -> bool:
    if isinstance(error, AssertionError | trio.TooSlowError):
        return True
    if isinstance(error, BaseExceptionGroup):
        return all(_is_test_failure(inner) for inner in error.exceptions)
    return False


@contextmanager
def inconclusive_if_late(watch: FleetWatch) -> Iterator[None]:
    """Skip as inconclusive, with the reason, a test that failed while its fleet was late."""
    try:
        yield
    except BaseException as error:
        reason = watch.lateness()
        if reason is None or not _is_test_failure(error):
            raise
        message = f"inconclusive: {reason}; it failed with {error!r}"[:1000]
        # pytest-trio re-raises a skip from inside its nursery without its message; the
        # integration conftest puts this one back into the report.
        INCONCLUSIVE.append(message)
        pytest.skip(message)


def _cpu_share() -> tuple[float, float]:
    """Load hbtd's command line in a fresh interpreter: its share of a core, and the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import hbtd_server.cli"], check=True, capture_output=True
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / wall, wall


@contextmanager
def inconclusive_if_slow_machine() -> Iterator[None]:
    """Skip as inconclusive a start-up deadline missed while the machine itself was busy.

    Measured after the failure: the share of a core a fresh interpreter gets while it loads
    ``hbtd``'s command line. A failure while it gets most of a core stays a failure.
    """
    try:
        yield
    except BaseException as error:
        if not _is_test_failure(error):
            raise
        share, wall = _cpu_share()
        if share >= BUSY_SHARE:
            raise
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        message = (
            f"inconclusive: the machine is too busy for a start-up deadline (loading hbtd got "
            f"{share:.0%} of a core, {wall:.1f} s; load average {load}); it failed with "
            f"{error!r}"
        )[:1000]
        INCONCLUSIVE.append(message)
        pytest.skip(message)

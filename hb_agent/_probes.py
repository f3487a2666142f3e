"""Health probes and the heartbeat's Status text.

Theory of operation: the heartbeat loop must never wait on a probe, so probes do not run when a
heartbeat is sent. Each probe runs in its own task on its own period, bounded by its own
timeout, and writes its latest verdict to a :class:`ProbeBoard`; the loop only reads the board.
A probe that hangs is cut off at its timeout (its whole process group is killed), and the
timeout itself counts as a failure: a health check that cannot finish is news.

Status priority, highest first: ``Kernel Oops`` (from the kernel's taint flags, read at every
heartbeat because it is one small ``/proc`` read), then failing probes in configuration order,
then ``OK``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import trio

__all__ = [
    "KERNEL_OOPS_STATUS",
    "OK_STATUS",
    "CommandProbe",
    "DiskProbe",
    "MemoryProbe",
    "Probe",
    "ProbeBoard",
    "kernel_oopsed",
    "run_probes",
]

OK_STATUS = "OK"
KERNEL_OOPS_STATUS = "Kernel Oops"

#: Bit 7 of ``/proc/sys/kernel/tainted`` is TAINT_DIE ('D'): "kernel died recently, i.e. there
#: was an OOPS or BUG" (Documentation/admin-guide/tainted-kernels.rst). It stays set until boot.
_TAINT_DIE = 1 << 7

#: A probe's output beyond this is read and thrown away: only the first line is ever used.
_OUTPUT_LIMIT = 4096

_log = logging.getLogger("hb_agent.probes")


@dataclass(frozen=True, slots=True, kw_only=True)
class _ProbeBase:
    name: str
    #: Status text to send while the probe fails; None means "use the probe's own words".
    status: str | None = None
    timeout: float = 10.0
    every: float = 30.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a probe needs a name")
        for key in ("timeout", "every"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"probe {self.name!r}: {key} must be a positive number")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandProbe(_ProbeBase):
    """Run a command; exit status 0 is healthy.

    When it fails, the Status is ``status`` if set, else the first line of its standard output,
    else ``"<name> failed"``.
    """

    argv: tuple[str, ...]

    def __post_init__(self) -> None:
        _ProbeBase.__post_init__(self)
        if not self.argv:
            raise ValueError(f"probe {self.name!r}: command is empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryProbe(_ProbeBase):
    """Healthy while ``MemAvailable`` in ``/proc/meminfo`` is at least ``min_bytes``."""

    min_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskProbe(_ProbeBase):
    """Healthy while the file system holding ``path`` has at least ``min_bytes`` available."""

    path: str
    min_bytes: int


Probe: TypeAlias = CommandProbe | MemoryProbe | DiskProbe


class ProbeBoard:
    """The latest verdict of every probe, and the Status they add up to.

    Args:
        probes: the configured probes, in priority order.
    """

    def __init__(self, probes: Sequence[Probe]) -> None:
        self._order = [probe.name for probe in probes]
        # name -> failure Status, or None while healthy (or not yet run).
        self._failures: dict[str, str | None] = dict.fromkeys(self._order)

    def record(self, name: str, failure: str | None) -> None:
        """Store a probe's verdict, logging when it changes.

        Args:
            name: the probe's name.
            failure: the Status to report, or None when healthy.
        """
        before = self._failures.get(name)
        self._failures[name] = failure
        if failure != before:
            if failure is None:
                _log.info("probe %s is healthy again", name)
            else:
                _log.warning("probe %s failed: Status is now %r", name, failure)

    def failure(self) -> str | None:
        """Return the Status of the first failing probe, or None when all are healthy."""
        for name in self._order:
            failure = self._failures[name]
            if failure is not None:
                return failure
        return None


def kernel_oopsed(root: Path) -> bool:
    """Tell whether the kernel's taint flags say it has oopsed since boot.

    Args:
        root: file system root; ``proc/sys/kernel/tainted`` is read under it.

    Returns:
        True when the TAINT_DIE bit is set; False when clear or unreadable.
    """
    try:
        text = (root / "proc/sys/kernel/tainted").read_text(encoding="ascii", errors="replace")
        return bool(int(text.strip() or "0") & _TAINT_DIE)
    except (OSError, ValueError):
        return False


def _available_memory(root: Path) -> int | None:
    """Return ``MemAvailable`` in bytes from ``{root}/proc/meminfo``, or None."""
    try:
        with (root / "proc/meminfo").open(encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    fields = line.split()
                    unit = 1024 if len(fields) > 2 and fields[2].lower() == "kb" else 1
                    return int(fields[1]) * unit
    except (OSError, ValueError, IndexError):
        return None
    return None


def _format_bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count} {unit}"
        count //= 1024
    return f"{count} TiB"


async def _run_command(argv: Sequence[str]) -> tuple[int, str]:
    """Run ``argv`` in its own session; return its exit code and first output line.

    Cancelling this (a timeout, or shutdown) kills the whole process group, so a probe's
    children cannot keep it, or the output pipe, alive.
    """
    process = await trio.lowlevel.open_process(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        kept = bytearray()
        while chunk := await process.stdout.receive_some(_OUTPUT_LIMIT):
            if len(kept) < _OUTPUT_LIMIT:
                kept += chunk[: _OUTPUT_LIMIT - len(kept)]
        code = await process.wait()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        with trio.CancelScope(shield=True):
            await process.wait()
            await process.stdout.aclose()
    lines = kept.decode("utf-8", errors="replace").strip().splitlines()
    return code, (lines[0].strip()[:200] if lines else "")


class _Prober:
    """Runs one probe forever and records its verdicts on the board."""

    def __init__(self, probe: Probe, board: ProbeBoard, root: Path) -> None:
        self._probe = probe
        self._board = board
        self._root = root
        # A statvfs on a dead network mount can hang in the kernel; its thread cannot be
        # cancelled, so never start a second one while the first is stuck.
        self._disk_busy = False

    async def check(self) -> str | None:
        """Run the probe once within its timeout; return the failure Status or None."""
        probe = self._probe
        with trio.move_on_after(probe.timeout):
            return await self._check_once()
        _log.warning("probe %s did not finish within %gs", probe.name, probe.timeout)
        return probe.status or f"{probe.name} timed out"

    async def _check_once(self) -> str | None:
        probe = self._probe
        if isinstance(probe, CommandProbe):
            try:
                code, first_line = await _run_command(probe.argv)
            except OSError as exc:
                _log.warning("probe %s cannot run %s: %s", probe.name, probe.argv[0], exc)
                return probe.status or f"{probe.name} failed"
            if code == 0:
                return None
            return probe.status or first_line or f"{probe.name} failed"
        if isinstance(probe, MemoryProbe):
            available = _available_memory(self._root)
            if available is None or available >= probe.min_bytes:
                return None
            return probe.status or f"Low memory: {_format_bytes(available)} available"
        if self._disk_busy:
            return probe.status or f"{probe.name} timed out"
        self._disk_busy = True
        try:
            stats = await trio.to_thread.run_sync(self._statvfs, probe.path, abandon_on_cancel=True)
        except OSError as exc:
            return probe.status or f"{probe.name}: {exc.strerror or exc}"
        available = stats.f_bavail * stats.f_frsize
        if available >= probe.min_bytes:
            return None
        return probe.status or f"Low disk: {_format_bytes(available)} free on {probe.path}"

    def _statvfs(self, path: str) -> os.statvfs_result:
        try:
            return os.statvfs(path)
        finally:
            self._disk_busy = False

    async def run(self) -> None:
        """Check, record, sleep until the next period; forever."""
        probe = self._probe
        logged_bug = False
        while True:
            started = trio.current_time()
            try:
                failure = await self.check()
            except Exception:
                # A bug in a probe must cost that probe, not the heartbeats; one traceback.
                if not logged_bug:
                    _log.exception("probe %s crashed", probe.name)
                    logged_bug = True
                failure = probe.status or f"{probe.name} failed"
            self._board.record(probe.name, failure)
            await trio.sleep_until(started + probe.every)


async def run_probes(
    probes: Sequence[Probe],
    board: ProbeBoard,
    *,
    root: Path,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run every probe in its own task until cancelled.

    Args:
        probes: the probes to run (the board must know them).
        board: where verdicts go.
        root: file system root for ``/proc`` reads.
        task_status: started at once; the first verdicts arrive later.
    """
    async with trio.open_nursery() as nursery:
        for probe in probes:
            nursery.start_soon(_Prober(probe, board, root).run)
        task_status.started()

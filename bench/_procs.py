"""Process helpers shared by the benchmarks: free ports, CPU time, waiting for a server."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from typing import IO

from hb_sim.ports import free_port

__all__ = ["cpu_seconds", "free_port", "rss_bytes", "start_pinned", "stop", "wait_for_port"]

_TICKS = os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, *, within: float = 20.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {within} s")


def start_pinned(
    args: list[str], *, cpu: int | None, stderr: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start a process, pinned to one CPU when there is more than one.

    Args:
        args: the command line.
        cpu: the CPU to pin it to.
        stderr: where its standard error goes (its log); discarded when None.
    """
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if stderr is None else stderr
    )
    if cpu is not None and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(process.pid, {cpu})
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of a process."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")

"""``hbtd --workers N``: N tracker processes on one machine, replicas of one store.

The parent starts N copies of its own command line, each marked with ``HBTD_WORKER_INDEX``;
they listen on the same port with SO_REUSEPORT (the kernel spreads connections) and share the
etcd store like any replicas. The parent passes SIGTERM and SIGINT on and exits with the worst
exit code of its workers; if one dies, the others are stopped too, so a supervisor (systemd,
Kubernetes) sees the failure.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

import trio

from ..core import plural
from ._command import hbtd_command

__all__ = ["WORKER_ENV", "run_workers", "worker_index", "worker_shutdown"]

log = logging.getLogger("hbtd")

WORKER_ENV = "HBTD_WORKER_INDEX"
#: A pipe from the parent: it reads end-of-file when the parent is gone, even after a kill -9.
PARENT_PIPE_ENV = "HBTD_WORKER_PARENT_FD"
_STOP_LIMIT = 15.0


def worker_index() -> int | None:
    """This process's worker number, or None in the parent (or without ``--workers``)."""
    value = os.environ.get(WORKER_ENV)
    return int(value) if value is not None and value.isdigit() else None


def run_workers(count: int) -> int:
    """Run ``count`` workers with this process's command line; returns the exit code."""
    command = hbtd_command(*sys.argv[1:], host=None)
    read_end, write_end = os.pipe()  # the write end stays open, unused, while we live
    children = [
        subprocess.Popen(
            command,
            env={**os.environ, WORKER_ENV: str(index), PARENT_PIPE_ENV: str(read_end)},
            pass_fds=(read_end,),
        )
        for index in range(count)
    ]
    os.close(read_end)
    pids = ", ".join(str(c.pid) for c in children)
    log.info("started %s: pids %s", plural(count, "worker"), pids)
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not stopping:
        failed = [c.pid for c in children if c.poll() is not None]
        log.error(
            "%s %s exited; stopping the others", "worker" if len(failed) == 1 else "workers", failed
        )
        forward(signal.SIGTERM, None)
    deadline = time.monotonic() + _STOP_LIMIT
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    codes = [child.returncode for child in children]
    os.close(write_end)
    return max((abs(code) for code in codes), default=0)


async def worker_shutdown() -> None:
    """A worker's shutdown trigger: SIGTERM or SIGINT, or its parent gone (a worker must not
    outlive it and hold the port)."""
    async with trio.open_nursery() as nursery:

        async def on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("received %s: shutting down", signal.Signals(signum).name)
                    break
            nursery.cancel_scope.cancel()

        async def on_orphaned() -> None:
            fd = os.environ.get(PARENT_PIPE_ENV)
            if fd is None or not fd.isdigit():
                return
            stream = trio.lowlevel.FdStream(int(fd))
            with contextlib.suppress(OSError, trio.BrokenResourceError):
                while await stream.receive_some(1):
                    pass
            log.warning("the parent process is gone: shutting down")
            nursery.cancel_scope.cancel()

        nursery.start_soon(on_signal)
        nursery.start_soon(on_orphaned)

"""Memory per tracked component and idle CPU of ``hbtd`` with 100,000 components.

* Memory: in process, with tracemalloc: an engine takes one heartbeat from each of N
  components and HSM acknowledges every "started", as in steady operation; the traced growth
  divided by N is the cost of one component (target <= 1 KiB).
* Idle CPU: a real ``hbtd`` process is filled with N components (Warntime an hour, so no
  deadline comes due), then its CPU time is read over a quiet period (target < 2 % of a core).

Usage: ``.venv/bin/python -m bench.tracker_footprint [--components 100000] [--idle-seconds 20]``
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
import tracemalloc

from bench._procs import cpu_seconds, free_port, rss_bytes, start_pinned, stop, wait_for_port
from bench.load import node_names
from hbtd_server import Engine
from hbtd_server.cli import hbtd_command
from hbtd_server.core import DEFAULT_PARAMS, Heartbeat


def memory_per_component(count: int) -> float:
    """Traced bytes per component after ``count`` components started and were acknowledged."""
    clock = iter(range(10**9))
    engine = Engine(DEFAULT_PARAMS, clock=lambda: float(next(clock)))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    # Names, Status and TimeStamp strings are made inside the traced region, as each request
    # makes its own, so what the tracker keeps of them is counted.
    for i, name in enumerate(node_names(count)):
        status = "".join(("O", "K"))
        engine.heartbeat(Heartbeat(name, status, f"2026-11-25T10:00:{i % 60:02d}.123456+00:00"))
    for patch in engine.books.take():
        engine.books.delivered(patch)
    engine.flush_wave_log()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def idle_cpu(count: int, seconds: float) -> tuple[float, int]:
    """Share of one core used by an idle hbtd holding ``count`` components, and its RSS."""
    port = free_port()
    server = start_pinned(
        [
            *hbtd_command(port=port),
            "--nosm",
            "--warntime",
            "3600",
            "--errtime",
            "7200",
        ],
        cpu=1,
    )
    try:
        wait_for_port(port)
        subprocess.run(
            [sys.executable, "-m", "bench.load", str(port), "600", "--once", "--nodes", str(count)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(2)  # let the wave of "started" log lines and HSM bookkeeping settle
        before = cpu_seconds(server.pid)
        time.sleep(seconds)
        used = cpu_seconds(server.pid) - before
        return used / seconds, rss_bytes(server.pid)
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--components", type=int, default=100_000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    per_component = memory_per_component(args.components)
    print(
        f"memory: {per_component:.0f} bytes per tracked component at {args.components} "
        f"components (target <= 1024)"
    )
    share, rss = idle_cpu(args.components, args.idle_seconds)
    print(
        f"idle CPU with {args.components} components and no deadline due: "
        f"{share * 100:.2f} % of a core over {args.idle_seconds:g} s (target < 2 %); "
        f"RSS {rss / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()

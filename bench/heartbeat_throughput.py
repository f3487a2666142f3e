"""Heartbeat POST throughput and CPU per request: hbtd on the lean server against the floors (#12).

Four servers, each its own process pinned to CPU 1, in interleaved rounds so drift on a shared
VM hits all alike:

- ``hbtd``: the tracker on its lean trio + httptools server (the default);
- ``noop-lean``: a no-op keep-alive server on trio + httptools (``bench/noop_lean.py``), on
  trio's ``SocketStream``: the floor the targets are set against;
- ``noop-transport``: the same no-op on hbtd's ``SocketTransport``: the floor under hbtd's own
  transport, so that what hbtd adds over it shows too;
- ``noop-hypercorn``: a no-op ASGI app on hypercorn's trio worker (``bench/noop_server.py``),
  the server hbtd ran on before #12 (retired from hbtd in #21).

The load (``bench.load``: trio + httptools, 50 keep-alive connections over 12,000 node names)
runs pinned to CPU 0. Before measuring, every one of the 12,000 nodes sends one heartbeat
(``--once``; the run must complete exactly 12,000 with no error), then a 2 s warm-up: every
measured heartbeat is for a node already tracked. Server CPU time comes from the kernel's
utime+stime of the server process. Prints each run, the medians, and the ratios against the
targets: hbtd at most 1.5x the CPU per request of noop-lean, at least 8x less than
noop-hypercorn.

Usage: ``.venv/bin/python -m bench.heartbeat_throughput [--rounds 3] [--seconds 6]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench._procs import cpu_seconds, free_port, start_pinned, stop, wait_for_port
from hbtd_server.cli import hbtd_command

SERVER_CPU = 1
LOAD_CPU = 0
NODES = 12_000
SERVERS = ("hbtd", "noop-lean", "noop-transport", "noop-hypercorn")


def server_command(which: str, port: int) -> list[str]:
    """The command line that starts one of the servers."""
    if which == "noop-lean":
        return [sys.executable, "-m", "bench.noop_lean", str(port)]
    if which == "noop-transport":
        return [sys.executable, "-m", "bench.noop_lean", str(port), "--transport"]
    if which == "noop-hypercorn":
        return [sys.executable, "-m", "bench.noop_server", str(port)]
    return hbtd_command("--nosm", "--warntime", "3600", "--errtime", "7200", port=port)


def measure(which: str, seconds: float) -> dict[str, float]:
    """Start a server, warm it with every node, measure it; return its figures."""
    port = free_port()
    server = start_pinned(server_command(which, port), cpu=SERVER_CPU)
    try:
        wait_for_port(port)
        warm = run_load(port, 600.0, once=True)
        if warm["requests"] != NODES or warm["errors"]:
            raise RuntimeError(f"{which}: warming sent {warm['requests']}, {warm['errors']} errors")
        run_load(port, 2.0)
        cpu_before = cpu_seconds(server.pid)
        result = run_load(port, seconds)
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        stop(server)
    if result["errors"]:
        raise RuntimeError(f"{which}: {result['errors']} non-200 answers")
    return {
        "rate": result["requests"] / result["seconds"],
        "cpu_us": cpu / result["requests"] * 1e6,
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
    }


def run_load(port: int, seconds: float, *, once: bool = False) -> dict[str, float]:
    """Run ``bench.load`` pinned to the load CPU and parse its one-line JSON result."""
    command = [sys.executable, "-m", "bench.load", str(port), str(seconds), "--nodes", str(NODES)]
    if once:
        command.append("--once")
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    try:
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(process.pid, {LOAD_CPU})
        stdout, _ = process.communicate(timeout=seconds + 60)
    finally:
        if process.poll() is None:
            process.kill()
    result: dict[str, float] = json.loads(stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--servers", default=",".join(SERVERS))
    args = parser.parse_args()
    servers = args.servers.split(",")
    runs: dict[str, list[dict[str, float]]] = {which: [] for which in servers}
    for round_number in range(1, args.rounds + 1):
        for which in servers:
            run = measure(which, args.seconds)
            runs[which].append(run)
            print(
                f"round {round_number} {which:15s} {run['rate']:7.0f} req/s "
                f"{run['cpu_us']:6.0f} CPU-µs/req  p50 {run['p50_ms']:6.1f} ms  "
                f"p99 {run['p99_ms']:6.1f} ms",
                flush=True,
            )
    median = {
        which: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for which, rs in runs.items()
    }
    print(f"medians ({NODES} nodes warmed before every measured run):")
    for which, m in median.items():
        print(
            f"  {which:15s} {m['rate']:7.0f} req/s {m['cpu_us']:6.0f} CPU-µs/req  "
            f"p50 {m['p50_ms']:6.1f} ms  p99 {m['p99_ms']:6.1f} ms"
        )
    if {"hbtd", "noop-lean", "noop-hypercorn"} <= median.keys():
        cost = {which: m["cpu_us"] for which, m in median.items()}
        floor, ceiling = cost["noop-lean"], cost["noop-hypercorn"]
        print(f"hbtd / noop-lean CPU per request: {cost['hbtd'] / floor:.2f} (target <= 1.5)")
        print(f"noop-hypercorn / hbtd CPU per request: {ceiling / cost['hbtd']:.1f} (target >= 8)")
        if "noop-transport" in cost:
            own = cost["hbtd"] / cost["noop-transport"]
            print(f"hbtd / noop-transport CPU per request: {own:.2f} (what hbtd adds to its floor)")


if __name__ == "__main__":
    main()

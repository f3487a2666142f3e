"""Heartbeat POST throughput of ``hbtd`` against a no-op ASGI app on the same hypercorn worker.

Both servers run as their own process pinned to CPU 1; the load (``bench.load``, trio + h11,
50 keep-alive connections over 12,000 node names) runs pinned to CPU 0. Rounds alternate
between the two servers so drift on a shared VM hits both alike. Prints each run, the medians
and the ratio hbtd / no-op (target >= 0.85), and the server CPU time per request.

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


def server_command(which: str, port: int) -> list[str]:
    """The command line that starts one of the two servers."""
    if which == "noop":
        return [sys.executable, "-m", "bench.noop_server", str(port)]
    return [
        *hbtd_command(port=port),
        "--nosm",
        "--warntime",
        "3600",
        "--errtime",
        "7200",
    ]


def measure(which: str, seconds: float) -> tuple[float, float]:
    """Start a server, warm it up, measure it; return requests/s and CPU µs per request."""
    port = free_port()
    server = start_pinned(server_command(which, port), cpu=SERVER_CPU)
    try:
        wait_for_port(port)
        run_load(port, 2.0)  # warm-up: fills the tracker with its 12,000 nodes
        cpu_before = cpu_seconds(server.pid)
        result = run_load(port, seconds)
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        stop(server)
    if result["errors"]:
        raise RuntimeError(f"{which}: {result['errors']} non-200 answers")
    rate = result["requests"] / result["seconds"]
    return rate, cpu / result["requests"] * 1e6


def run_load(port: int, seconds: float) -> dict[str, float]:
    """Run ``bench.load`` pinned to the load CPU and parse its one-line JSON result."""
    command = [sys.executable, "-m", "bench.load", str(port), str(seconds)]
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
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"noop": [], "hbtd": []}
    costs: dict[str, list[float]] = {"noop": [], "hbtd": []}
    for round_number in range(1, args.rounds + 1):
        for which in ("noop", "hbtd"):
            rate, cost = measure(which, args.seconds)
            rates[which].append(rate)
            costs[which].append(cost)
            print(f"round {round_number} {which:5s} {rate:8.0f} req/s  {cost:6.0f} CPU-µs/req")
    noop, hbtd = statistics.median(rates["noop"]), statistics.median(rates["hbtd"])
    print(f"median no-op ASGI app: {noop:.0f} req/s, {statistics.median(costs['noop']):.0f} µs/req")
    print(f"median hbtd:           {hbtd:.0f} req/s, {statistics.median(costs['hbtd']):.0f} µs/req")
    print(f"ratio hbtd / no-op: {hbtd / noop:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()

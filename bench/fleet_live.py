"""hb-sim's live fleet against one ``hbtd`` process: 12,000 nodes every 3 s (#12).

``hbtd`` (``mem:``, ``--nosm``) runs pinned to CPU 1; the fleet (``hb_sim``'s ``LiveFleet``,
trio + httptools) runs in this process, pinned to CPU 0. After a warm-up in which every node
beats at least once, the server's CPU time is read over the measured window, with the
heartbeats the fleet got answered and the tracker's own counters (``/hmi/v1/metrics``):
heartbeats accepted and refused, and transitions other than "started" (with every node
beating, any such transition is a false one). Target: server CPU under 50 % of one core.

Usage: ``.venv/bin/python -m bench.fleet_live [--nodes 12000] [--seconds 30]
[--http-server lean] [--connections 200]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx
import trio

from bench._procs import cpu_seconds, free_port, start_pinned, stop, wait_for_port
from bench.load import node_names
from hb_sim.fleet import LiveFleet

SERVER_CPU = 1
FLEET_CPU = 0


def _counters(text: str) -> dict[str, float]:
    wanted = ("hbtd_heartbeats_accepted_total", "hbtd_heartbeats_rejected_total",
              "hbtd_transitions_total")  # fmt: skip
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(wanted):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


async def run(
    port: int, server_pid: int, nodes: int, seconds: float, connections: int
) -> dict[str, float]:
    fleet = LiveFleet(
        targets=[f"http://127.0.0.1:{port}"],
        xnames=node_names(nodes),
        interval=3.0,
        connections=connections,
    )
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/hmi/v1") as client,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(fleet.run)
        await trio.sleep(6.0)  # every node has beaten at least once
        cpu_start, sent_start, began = cpu_seconds(server_pid), fleet.sent, trio.current_time()
        await trio.sleep(seconds)
        cpu_end, sent_end = cpu_seconds(server_pid), fleet.sent
        elapsed = trio.current_time() - began
        metrics = _counters((await client.get("/metrics")).text)
        nursery.cancel_scope.cancel()
    false_transitions = sum(
        v
        for k, v in metrics.items()
        if k.startswith("hbtd_transitions") and 'kind="started"' not in k
    )
    return {
        "nodes": nodes,
        "seconds": elapsed,
        "heartbeats_per_s": (sent_end - sent_start) / elapsed,
        "target_per_s": nodes / 3.0,
        "server_cpu_percent": 100 * (cpu_end - cpu_start) / elapsed,
        "server_cpu_us_per_heartbeat": 1e6 * (cpu_end - cpu_start) / max(1, sent_end - sent_start),
        "fleet_errors": len(fleet.rejected),
        "rejected_by_tracker": sum(v for k, v in metrics.items() if "rejected" in k),
        "false_transitions": false_transitions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=12_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--http-server", default="lean", choices=["lean", "hypercorn"])
    args = parser.parse_args()
    port = free_port()
    server = start_pinned(
        [sys.executable, "-m", "hbtd_server", "--host", "127.0.0.1", "--port", str(port),
         "--nosm", "--http-server", args.http_server],
        cpu=SERVER_CPU,
    )  # fmt: skip
    try:
        wait_for_port(port)
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {FLEET_CPU})
        result = trio.run(run, port, server.pid, args.nodes, args.seconds, args.connections)
    finally:
        stop(server)
    print(json.dumps({"http_server": args.http_server, **result}))


if __name__ == "__main__":
    main()

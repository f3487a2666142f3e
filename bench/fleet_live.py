"""hb-sim's live fleet against one ``hbtd`` process: 12,000 nodes every 3 s (#12).

``hbtd`` (``mem:``, ``--nosm``) runs pinned to CPU 1; the fleet (``hb_sim``'s ``LiveFleet``,
trio + httptools) runs in this process, pinned to CPU 0. After a warm-up in which every node
beats at least once, the server's CPU time is read over the measured window, with the
heartbeats the fleet got answered, the tracker's counts of heartbeats accepted and refused
(``/hmi/v1/metrics``), and from its log every change other than "started" for a node that kept
beating: a false one. Target: server CPU under 50 % of one core.

Warning lateness: during the first part of the window (all but Warntime and 2 s), ``--silence``
nodes stop one after the other, evenly spread. ``hbtd`` runs with ``--debug 1``, so it logs
each change with the moment it was due (last heartbeat + Warntime) and the moment its detector
found it, both on the tracker's own clock; lateness is the difference, for every silenced
node's warning.

With ``--http-server noop-transport`` the server is ``bench/noop_lean.py --transport`` (every
request answered 200, nothing tracked): the floor of this load on hbtd's own transport.

Usage: ``.venv/bin/python -m bench.fleet_live [--nodes 12000] [--seconds 30]
[--http-server lean|noop-transport] [--connections 200] [--silence 300]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile

import httpx
import trio

from bench._procs import cpu_seconds, free_port, rss_bytes, start_pinned, stop, wait_for_port
from bench.load import node_names
from hb_sim.fleet import LiveFleet
from hbtd_server.core import DEFAULT_PARAMS

SERVER_CPU = 1
FLEET_CPU = 0
WARNTIME = DEFAULT_PARAMS.warntime  # hbtd runs with its defaults here
#: hbtd's debug line for one change (engine.py): "<xname> warning: due <t>, detected <t>, ..."
_CHANGE = re.compile(rb"(\S+) (started|restarted|warning|dead): due ([0-9.]+), detected ([0-9.]+)")


def _counters(text: str) -> dict[str, float]:
    wanted = ("hbtd_heartbeats_accepted_total", "hbtd_heartbeats_rejected_total")
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(wanted):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def read_changes(log: bytes, silenced: set[str]) -> tuple[list[float], int]:
    """From hbtd's log: seconds between due and detected for each silenced node's warning,
    and the count of false changes (any but "started" for a node that kept beating)."""
    lateness: list[float] = []
    false_changes = 0
    for match in _CHANGE.finditer(log):
        xname, kind = match[1].decode(), match[2]
        if xname in silenced:
            if kind == b"warning":
                lateness.append(float(match[4]) - float(match[3]))
        elif kind != b"started":
            false_changes += 1
    return lateness, false_changes


async def run(
    port: int, server_pid: int, nodes: int, seconds: float, connections: int, silence: int
) -> tuple[dict[str, float], set[str]]:
    names = node_names(nodes)
    fleet = LiveFleet(
        targets=[f"http://127.0.0.1:{port}"],
        xnames=names,
        interval=3.0,
        connections=connections,
    )
    # every 40th node or so: spread over cabinets and over the fleet's connections
    to_silence = names[:: max(1, nodes // silence)][:silence]
    silence_over = max(0.0, seconds - WARNTIME - 2.0)

    async def silence_one_by_one() -> None:
        for xname in to_silence:
            fleet.silence([xname])
            await trio.sleep(silence_over / max(1, len(to_silence)))

    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/hmi/v1") as client,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(fleet.run)
        await trio.sleep(6.0)  # every node has beaten at least once
        cpu_start, sent_start, began = cpu_seconds(server_pid), fleet.sent, trio.current_time()
        nursery.start_soon(silence_one_by_one)
        await trio.sleep(seconds)
        cpu_end, sent_end = cpu_seconds(server_pid), fleet.sent
        rss = rss_bytes(server_pid)
        elapsed = trio.current_time() - began
        metrics = _counters((await client.get("/metrics")).text)
        nursery.cancel_scope.cancel()
    result = {
        "nodes": nodes,
        "seconds": elapsed,
        "heartbeats_per_s": (sent_end - sent_start) / elapsed,
        "target_per_s": nodes / 3.0,
        "server_cpu_percent": 100 * (cpu_end - cpu_start) / elapsed,
        "server_cpu_us_per_heartbeat": 1e6 * (cpu_end - cpu_start) / max(1, sent_end - sent_start),
        "fleet_errors": len(fleet.rejected),
        "rejected_by_tracker": sum(v for k, v in metrics.items() if "rejected" in k),
        "server_rss_mb": rss / 2**20,
        "silenced": len(to_silence),
    }
    return result, set(to_silence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=12_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument(
        "--http-server",
        default="lean",
        choices=["lean", "noop-transport"],
        help="noop-transport: bench/noop_lean.py on hbtd's transport, the floor for this load",
    )
    parser.add_argument("--silence", type=int, default=300, help="nodes that stop, for lateness")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryFile() as log:
        if args.http_server == "noop-transport":
            command = [sys.executable, "-m", "bench.noop_lean", str(port), "--transport"]
        else:
            command = [sys.executable, "-m", "hbtd_server", "--host", "127.0.0.1",
                       "--port", str(port), "--nosm", "--debug", "1",
                       ]  # fmt: skip
        server = start_pinned(command, cpu=SERVER_CPU, stderr=log)
        try:
            wait_for_port(port)
            if (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {FLEET_CPU})
            result, silenced = trio.run(
                run, port, server.pid, args.nodes, args.seconds, args.connections, args.silence
            )
        finally:
            stop(server)
        log.seek(0)
        lateness, false_changes = read_changes(log.read(), silenced)
    lateness.sort()
    cuts = statistics.quantiles(lateness, n=100) if len(lateness) > 1 else [math.nan] * 99
    result["warnings_of_silenced"] = len(lateness)
    result["false_transitions"] = false_changes
    result["warning_lateness_p50_ms"] = cuts[49] * 1000
    result["warning_lateness_p99_ms"] = cuts[98] * 1000
    result["warning_lateness_max_ms"] = (lateness[-1] if lateness else math.nan) * 1000
    print(json.dumps({"http_server": args.http_server, **result}))


if __name__ == "__main__":
    main()

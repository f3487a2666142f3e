"""Closed-loop keep-alive heartbeat load: C connections, each POSTing back to back.

Usage: ``python -m bench.load PORT SECONDS [--connections C] [--nodes N] [--once]``.
Prints one JSON line: requests completed, non-200 answers, seconds measured, and the p50 and
p99 request latency in milliseconds. With ``--once`` every node sends exactly one heartbeat (to
fill a tracker) and it stops. The client is trio + httptools (#12): the h11 one it used before
could not keep the lean server busy.
"""

from __future__ import annotations

import argparse
import json
import statistics

import trio

from hb_sim.fleet import HttpConnection

BODY = b'{"Status":"OK","TimeStamp":"2026-11-25T10:00:00.123456+00:00"}'


def node_names(count: int) -> list[str]:
    """``count`` distinct node xnames laid out like a real machine."""
    names: list[str] = []
    cabinet = 1000
    while len(names) < count:
        for chassis in range(8):
            for slot in range(8):
                for node in range(4):
                    names.append(f"x{cabinet}c{chassis}s{slot}b{node // 2}n{node % 2}")
        cabinet += 1
    return names[:count]


async def run(
    port: int, seconds: float, connections: int, nodes: int, once: bool
) -> dict[str, float]:
    names = node_names(nodes)
    paths = [f"/hmi/v1/heartbeat/{name}" for name in names]
    done = 0
    errors = 0
    latencies: list[float] = []

    async def worker(index: int, deadline: float) -> None:
        nonlocal done, errors
        conn = HttpConnection("127.0.0.1", port)
        mine = paths[index::connections]
        i = 0
        clock = trio.current_time
        while (sent := clock()) < deadline:
            if once and i >= len(mine):
                break
            status, _ = await conn.post(mine[i % len(mine)], BODY)
            latencies.append(clock() - sent)
            i += 1
            done += 1
            if status != 200:
                errors += 1
        await conn.aclose()

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for index in range(connections):
            nursery.start_soon(worker, index, start + seconds)
    elapsed = trio.current_time() - start
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": done,
        "errors": errors,
        "seconds": elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--nodes", type=int, default=12_000)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    result = trio.run(run, args.port, args.seconds, args.connections, args.nodes, args.once)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

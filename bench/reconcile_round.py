"""Reconciliation of 12,000 tracked nodes against the served mock HSM: requests and time.

The mock HSM runs as its own process (``hb-sim mock-hsm --nodes 12000 --state Ready``, pinned
to CPU 1); the tracker's engine runs here (CPU 0) with 12,000 nodes tracked, and each round is
the real ``reconcile_round`` over real HTTP on loopback: bulk reads of 500 IDs, four at once,
each answer bounded. Every round reads HSM at the heartbeat truth, so it corrects nothing; one
round first has an operator's change on 100 nodes, which it puts back.

Heartbeat cost: ``Engine.heartbeat`` (what a heartbeat costs the tracker beyond HTTP) is timed
over all 12,000 nodes with reconciliation off, and again after rounds have filled the ledger's
picture of HSM: the reconciler runs beside the notifier, never on the heartbeat path.

Usage: ``.venv/bin/python -m bench.reconcile_round [--nodes 12000] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time

import httpx
import trio

from bench._procs import free_port, start_pinned, stop, wait_for_port
from hbtd_server import Engine
from hbtd_server.core import DEFAULT_PARAMS, Heartbeat
from hbtd_server.notify import MAX_IDS_PER_READ, make_hsm_client, reconcile_round

HSM_CPU = 1
STAMP = "2026-12-05T10:00:00Z"


def names(count: int) -> list[str]:
    """The mock HSM's ``--nodes N``: cabinets of 256 (8 chassis, 8 slots, 2 boards, 2 nodes)."""
    return [
        f"x{1000 + i // 256}c{i // 32 % 8}s{i // 4 % 8}b{i // 2 % 2}n{i % 2}" for i in range(count)
    ]


def heartbeat_cost(engine: Engine, xnames: list[str], passes: int = 5) -> float:
    """Microseconds per ``Engine.heartbeat`` for already tracked nodes (best of ``passes``)."""
    beats = [Heartbeat(x, "OK", STAMP) for x in xnames]
    gc.collect()  # the garbage of a round (its JSON) is not the heartbeat's to pay
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for heartbeat in beats:
            engine.heartbeat(heartbeat)
        best = min(best, time.perf_counter() - start)
    return best / len(beats) * 1e6


async def measure(count: int, rounds: int, hsm_url: str) -> dict[str, object]:
    xnames = names(count)
    params = DEFAULT_PARAMS.patched(
        {"Sm_url": hsm_url, "Reconcile_interval": "0", "Warntime": "3600", "Errtime": "7200"}
    )
    engine = Engine(params)
    engine.books.readiness(True)
    for xname in xnames:
        engine.heartbeat(Heartbeat(xname, "OK", STAMP))
    for patch in engine.books.take():  # the "started" wave: HSM shows Ready/OK (--state Ready)
        engine.books.delivered(patch)
    cost_before = heartbeat_cost(engine, xnames)
    results: list[dict[str, object]] = []
    async with make_hsm_client() as client:
        for round_ in range(rounds):
            if round_ == rounds - 1:  # an operator sets 100 live nodes Standby/Alert
                body = {"ComponentIDs": xnames[:100], "State": "Standby", "Flag": "Alert"}
                url = f"{hsm_url}/State/Components/BulkStateData"
                assert (await client.patch(url, json=body)).status_code == 204
            before = _requests(hsm_url)
            start = time.perf_counter()
            corrected = await reconcile_round(engine, client)
            seconds = time.perf_counter() - start
            results.append(
                {
                    "seconds": round(seconds, 3),
                    "requests": _requests(hsm_url) - before,
                    "corrected": len(corrected),
                    "unknown_to_hsm": engine.books.reconcile_health.last.get("Unknown", -1),
                }
            )
    cost_after = heartbeat_cost(engine, xnames)
    times = [float(str(r["seconds"])) for r in results]
    return {
        "nodes": count,
        "ids_per_read": MAX_IDS_PER_READ,
        "rounds": results,
        "median_seconds": statistics.median(times),
        "heartbeat_us_reconcile_off": round(cost_before, 3),
        "heartbeat_us_after_rounds": round(cost_after, 3),
    }


def _requests(hsm_url: str) -> int:
    # The mock's request log, read past its HSM routes (the control API is not counted).
    root = hsm_url.removesuffix("/hsm/v2")
    found = httpx.get(f"{root}/mock/requests", timeout=30).json()
    return sum(1 for r in found if r["method"] == "GET" and r["path"].endswith("/Components"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=12_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    gc.set_threshold(50_000, 50, 100)  # as hbtd's command line sets it
    port = free_port()
    command = [sys.executable, "-c", "from hb_sim.cli import main; main()"]
    command += ["mock-hsm", "--port", str(port)]
    command += ["--nodes", str(args.nodes), "--state", "Ready"]
    hsm = start_pinned(command, cpu=HSM_CPU)
    try:
        wait_for_port(port)
        result = trio.run(measure, args.nodes, args.rounds, f"http://127.0.0.1:{port}/hsm/v2")
    finally:
        stop(hsm)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

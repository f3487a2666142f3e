"""The etcd store's cost (#7): throughput against ``mem:``, CPU per heartbeat, etcd writes.

hbtd (and its workers) is pinned to CPU 1 and the load (``bench.load``, trio + h11, 50
keep-alive connections over 12,000 node names) to CPU 0, as in ``bench.heartbeat_throughput``.
etcd-server runs from a fresh temporary data dir each time, pinned to CPU 0 by default (in
production etcd has cores of its own); ``--etcd-cpu 1`` puts it on hbtd's core instead. CPU
time is always summed over hbtd, its workers and etcd, wherever they run.

* ``throughput``: rounds alternate ``mem:`` and etcd; prints heartbeat POST/s, the ratio
  etcd / mem (target >= 0.8), and CPU µs per heartbeat summed over hbtd and etcd.
* ``cpu``: CPU µs per heartbeat over all server processes with ``--workers 1`` and ``2``
  (saturating load), for sizing a larger NCN.
* ``writes``: 10,000 nodes beating every 3 s (paced, hb_sim's live fleet) to ``--workers``
  (default 2) hbtd processes, not pinned: etcd puts and transactions per second (from etcd's own
  counters) and the CPU the whole server side uses.

Usage: ``.venv/bin/python -m bench.store_etcd {throughput,cpu,writes} [--rounds 3] [--seconds 6]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import trio

from bench._procs import cpu_seconds, free_port, start_pinned, stop, wait_for_port
from bench.heartbeat_throughput import run_load
from hb_sim.fleet import LiveFleet
from hbtd_server.cli import hbtd_command
from tests.etcd_support import EtcdServer

SERVER_CPU = 1
ETCD_CPU = [0]  # set from --etcd-cpu


def _pin(pid: int) -> None:
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {ETCD_CPU[0]})


@contextmanager
def etcd() -> Iterator[EtcdServer]:
    """A fresh etcd-server on loopback, pinned to ``--etcd-cpu``."""
    with tempfile.TemporaryDirectory(prefix="hbtd-bench-etcd-") as directory:
        server = EtcdServer(Path(directory))
        server.launch()
        assert server.process is not None
        _pin(server.process.pid)
        try:
            server.wait_ready_blocking()
            yield server
        finally:
            server.stop()


@contextmanager
def hbtd(port: int, *args: str, pin: bool = True) -> Iterator[subprocess.Popen[bytes]]:
    """An ``hbtd`` pinned to the server CPU (workers inherit the pinning) unless ``pin`` is off."""
    command = hbtd_command("--nosm", "--warntime", "3600", "--errtime", "7200", *args, port=port)
    process = start_pinned(command, cpu=SERVER_CPU if pin else None)
    try:
        wait_for_port(port)
        time.sleep(0.5)  # every worker listening
        yield process
    finally:
        stop(process)


def server_pids(root: int, etcd_server: EtcdServer | None) -> list[int]:
    """hbtd, its worker processes, and etcd."""
    pids = [root]
    try:
        children = Path(f"/proc/{root}/task/{root}/children").read_text().split()
        pids += [int(pid) for pid in children]
    except OSError:
        pass
    if etcd_server is not None and etcd_server.process is not None:
        pids.append(etcd_server.process.pid)
    return pids


def total_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def measure(store: str, seconds: float, *, workers: int = 1) -> tuple[float, float]:
    """Heartbeat POST/s and server-side CPU µs per heartbeat for one configuration."""
    port = free_port()
    with etcd() if store == "etcd" else _nothing() as etcd_server:
        args = ["--kv_url", etcd_server.url] if etcd_server is not None else []
        if workers > 1:
            args += ["--workers", str(workers)]
        with hbtd(port, *args) as process:
            pids = server_pids(process.pid, etcd_server)
            run_load(port, 2.0)  # warm-up: fills the tracker with its 12,000 nodes
            before = [cpu_seconds(pid) for pid in pids]
            result = run_load(port, seconds)
            used = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
            cpu = sum(used)
            if etcd_server is not None:
                share = used[-1] / result["requests"] * 1e6
                print(f"    of which etcd-server: {share:.0f} CPU-µs/hb")
    if result["errors"]:
        raise RuntimeError(f"{store}: {result['errors']} non-200 answers")
    return result["requests"] / result["seconds"], cpu / result["requests"] * 1e6


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def throughput(rounds: int, seconds: float) -> None:
    rates: dict[str, list[float]] = {"mem": [], "etcd": []}
    costs: dict[str, list[float]] = {"mem": [], "etcd": []}
    for number in range(1, rounds + 1):
        for store in ("mem", "etcd"):
            rate, cost = measure(store, seconds)
            rates[store].append(rate)
            costs[store].append(cost)
            print(f"round {number} {store:4s} {rate:8.0f} heartbeats/s {cost:6.0f} CPU-µs/hb")
    mem, on_etcd = statistics.median(rates["mem"]), statistics.median(rates["etcd"])
    print(f"median mem:  {mem:.0f}/s, {statistics.median(costs['mem']):.0f} µs/hb (hbtd)")
    print(f"median etcd: {on_etcd:.0f}/s, {statistics.median(costs['etcd']):.0f} µs/hb (hbtd+etcd)")
    print(f"ratio etcd / mem: {on_etcd / mem:.2f} (target >= 0.8)")


def cpu(rounds: int, seconds: float) -> None:
    for workers in (1, 2):
        costs = [measure("etcd", seconds, workers=workers)[1] for _ in range(rounds)]
        cost = statistics.median(costs)
        cores = 12_000 / 3 * cost / 1e6
        print(
            f"workers {workers}: {cost:.0f} CPU-µs per heartbeat (hbtd + etcd); "
            f"12,000 nodes every 3 s need {cores:.2f} cores"
        )


def writes(seconds: float, workers: int) -> None:
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    with (
        etcd() as etcd_server,
        hbtd(port, "--kv_url", etcd_server.url, *extra, pin=False) as process,
    ):
        pids = server_pids(process.pid, etcd_server)
        names = [f"x{1000 + i // 256}c{i // 32 % 8}s{i // 4 % 8}b0n{i % 4}" for i in range(10_000)]

        def counters() -> dict[str, float]:
            text = httpx.get(f"{etcd_server.url}/metrics").text
            wanted = ("etcd_mvcc_put_total", "etcd_mvcc_txn_total", "etcd_mvcc_delete_total")
            found = {}
            for line in text.splitlines():
                name, _, value = line.partition(" ")
                if name in wanted:
                    found[name] = float(value)
            return found

        async def run() -> tuple[dict[str, float], dict[str, float], float, float, int]:
            fleet = LiveFleet(
                targets=[f"http://127.0.0.1:{port}"], xnames=names, interval=3.0, connections=50
            )
            async with trio.open_nursery() as nursery:
                await nursery.start(fleet.run)
                await trio.sleep(4.0)  # every node has beaten once
                start, cpu_start, sent_start = counters(), total_cpu(pids), fleet.sent
                began = trio.current_time()
                await trio.sleep(seconds)
                end, cpu_end, sent_end = counters(), total_cpu(pids), fleet.sent
                elapsed = trio.current_time() - began
                nursery.cancel_scope.cancel()
            assert not fleet.rejected
            return start, end, cpu_end - cpu_start, elapsed, sent_end - sent_start

        start, end, used, elapsed, sent = trio.run(run)
    print(f"10,000 nodes every 3 s for {elapsed:.1f} s: {sent / elapsed:.0f} heartbeats/s")
    for name in ("etcd_mvcc_put_total", "etcd_mvcc_txn_total", "etcd_mvcc_delete_total"):
        rate = (end.get(name, 0) - start.get(name, 0)) / elapsed
        print(f"  {name}: {rate:.0f}/s")
    print(f"  server CPU (hbtd + etcd): {used / elapsed:.2f} cores, {used / sent * 1e6:.0f} µs/hb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["throughput", "cpu", "writes"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--etcd-cpu", type=int, default=0, choices=[0, 1])
    parser.add_argument("--workers", type=int, default=2, help="for writes")
    args = parser.parse_args()
    ETCD_CPU[0] = args.etcd_cpu
    print(f"hbtd on CPU {SERVER_CPU}, etcd-server on CPU {args.etcd_cpu}, load on CPU 0")
    if args.what == "throughput":
        throughput(args.rounds, args.seconds)
    elif args.what == "cpu":
        cpu(args.rounds, args.seconds)
    else:
        writes(args.seconds, args.workers)


if __name__ == "__main__":
    main()

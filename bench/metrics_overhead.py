"""Heartbeat throughput of ``hbtd`` with metrics on and off, measured in one run (#8).

Same rig as ``bench.heartbeat_throughput``: the server pinned to CPU 1, the load (trio + h11,
50 keep-alive connections over 12,000 node names) pinned to CPU 0, the two variants measured
in turn within each round, the first one alternating between rounds, so that drift on a shared
VM hits both alike. With metrics on, a scraper GETs
``/hmi/v1/metrics`` every ``--scrape-interval`` seconds during the measurement (default 1 s,
fifteen times Prometheus' usual rate), so scrape cost is in the number too. Prints each run,
the medians and the overhead (target: a few percent at most).

On a shared 2-core VM the end-to-end numbers move by several percent from run to run, more
than metrics cost. So the benchmark also measures the tracker's own share in process, where
scheduling noise is small: the CPU time of the inline heartbeat routes (validation, engine,
12,000 tracked components) per heartbeat, metrics on (with one scrape of the Quart app per
2,700 heartbeats, i.e. once a second at full load) and off, alternating, without sockets.

Usage: ``.venv/bin/python -m bench.metrics_overhead [--rounds 6] [--seconds 6]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from typing import Any

import httpx
import trio

from bench._procs import cpu_seconds, free_port, start_pinned, stop, wait_for_port
from bench.heartbeat_throughput import LOAD_CPU, SERVER_CPU, run_load, server_command
from hbtd_server import Engine, create_quart_app
from hbtd_server.core import DEFAULT_PARAMS
from hbtd_server.http import HeartbeatRoutes
from hbtd_server.ops import Metrics

VARIANTS = ("off", "on")


class Scraper:
    """Scrapes ``/metrics`` at a fixed interval in a thread; counts what it fetched."""

    def __init__(self, port: int, interval: float) -> None:
        self.url = f"http://127.0.0.1:{port}/hmi/v1/metrics"
        self.interval = interval
        self.scrapes = 0
        self.size = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(self.interval):
                response = client.get(self.url)
                response.raise_for_status()
                self.scrapes += 1
                self.size = len(response.content)


def measure(metrics: str, seconds: float, scrape_interval: float) -> tuple[float, float, int]:
    """Run one variant; return requests/s, server CPU µs per request, and scrapes made."""
    port = free_port()
    command = [*server_command("hbtd", port), "--metrics", metrics]
    server = start_pinned(command, cpu=SERVER_CPU)
    try:
        wait_for_port(port)
        run_load(port, 2.0)  # warm-up: fills the tracker with its 12,000 nodes
        cpu_before = cpu_seconds(server.pid)
        if metrics == "on":
            with Scraper(port, scrape_interval) as scraper:
                result = run_load(port, seconds)
            scrapes = scraper.scrapes
        else:
            result = run_load(port, seconds)
            scrapes = 0
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        stop(server)
    if result["errors"]:
        raise RuntimeError(f"metrics {metrics}: {result['errors']} non-200 answers")
    return result["requests"] / result["seconds"], cpu / result["requests"] * 1e6, scrapes


_NAMES = [f"x{1000 + i // 128}c{i // 16 % 8}s{i // 2 % 8}b0n{i % 2}" for i in range(12_000)]
_BODY = b'{"Status":"OK","TimeStamp":"2026-11-25T10:00:00.000000+00:00"}'
_SCRAPE_EVERY = 2_700  # heartbeats between scrapes: one scrape a second at full load


def _one_request() -> Any:
    # Quart reads the request, then waits on receive() for a disconnect until it answers.
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


async def _app_cost(metrics: str, heartbeats: int) -> float:
    params = DEFAULT_PARAMS.patched({"Nosm": "1", "Warntime": "3600", "Errtime": "7200"})
    engine = Engine(params)
    app: Any = create_quart_app(engine, metrics=Metrics(engine) if metrics == "on" else None)
    routes = HeartbeatRoutes(engine)
    scrape: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/hmi/v1/metrics",
        "raw_path": b"/hmi/v1/metrics",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 28500),
    }
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for name in _NAMES:  # warm-up: every component tracked
        statuses.append(routes.answer(name, _BODY)[0])
    started = time.process_time()
    for i in range(heartbeats):
        statuses.append(routes.answer(_NAMES[i % len(_NAMES)], _BODY)[0])
        if metrics == "on" and i % _SCRAPE_EVERY == 0:
            await app(scrape, _one_request(), send)
    cost = (time.process_time() - started) / heartbeats * 1e6
    if set(statuses) != {200}:
        raise RuntimeError(f"metrics {metrics}: answers {sorted(set(statuses))}")
    return cost


def app_costs(rounds: int, heartbeats: int) -> None:
    """Print the in-process CPU cost per heartbeat, metrics on and off, alternating."""
    costs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_number in range(1, rounds + 1):
        order = VARIANTS if round_number % 2 else VARIANTS[::-1]
        for variant in order:
            cost = trio.run(_app_cost, variant, heartbeats)
            costs[variant].append(cost)
            print(f"in process, round {round_number} metrics {variant:3s} {cost:6.1f} µs/heartbeat")
    off, on = statistics.median(costs["off"]), statistics.median(costs["on"])
    print(f"in process, median: off {off:.1f} µs, on {on:.1f} µs per heartbeat")
    print(f"in process, app CPU per heartbeat on / off: {on / off:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--scrape-interval", type=float, default=1.0)
    parser.add_argument("--app-heartbeats", type=int, default=100_000)
    args = parser.parse_args()
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {LOAD_CPU})  # the scraper thread stays off the server's CPU
    app_costs(args.rounds, args.app_heartbeats)
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    costs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_number in range(1, args.rounds + 1):
        # Alternate which variant goes first (off-on, on-off, ...): neither gains from order.
        order = VARIANTS if round_number % 2 else VARIANTS[::-1]
        for variant in order:
            rate, cost, scrapes = measure(variant, args.seconds, args.scrape_interval)
            rates[variant].append(rate)
            costs[variant].append(cost)
            print(
                f"round {round_number} metrics {variant:3s} {rate:8.0f} req/s  "
                f"{cost:6.0f} CPU-µs/req  {scrapes} scrapes"
            )
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    cost_off, cost_on = statistics.median(costs["off"]), statistics.median(costs["on"])
    print(f"median metrics off: {off:.0f} req/s, {cost_off:.0f} µs/req")
    print(f"median metrics on:  {on:.0f} req/s, {cost_on:.0f} µs/req")
    print(f"throughput on / off: {on / off:.3f} (overhead {100 * (1 - on / off):+.1f} %)")
    print(f"CPU per request on / off: {cost_on / cost_off:.3f}")


if __name__ == "__main__":
    main()

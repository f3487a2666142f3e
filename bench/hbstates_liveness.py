"""/liveness latency while four clients post maximum-size /hbstates queries without pause (#12).

Starts ``hbtd`` (``--http-server`` as given), runs the four query clients in a process of their
own, and probes ``/liveness`` from this one on a keep-alive connection every 20 ms. Prints the
probe's p50/p99/max and the queries answered. Target: p99 under 100 ms.

Usage: ``.venv/bin/python -m bench.hbstates_liveness [--http-server lean] [--seconds 8]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import trio

from bench._procs import free_port, stop, wait_for_port

NAMES = [
    f"x{1000 + i // 256}c{i // 32 % 8}s{i // 4 % 8}b{i // 2 % 2}n{i % 2}" for i in range(50_000)
]
#: 50,000 names of 64 characters: the largest query the API takes (about 3.4 MB).
BIG_QUERY = json.dumps({"XNames": [name.ljust(64, "0") for name in NAMES]}).encode()


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: hbtd\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _exchange(stream: trio.SocketStream, request: bytes) -> int:
    """Send a request, read one response (Content-Length framed); return its status."""
    await stream.send_all(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    pieces = [rest]
    received = len(rest)
    while received < length:
        chunk = await stream.receive_some(max(65536, length - received))
        if not chunk:
            raise ConnectionError("closed")
        pieces.append(chunk)
        received += len(chunk)
    return int(head.split(b" ", 2)[1])


async def query_load(port: int, seconds: float, clients: int = 4) -> int:
    """``clients`` connections posting BIG_QUERY back to back; returns queries answered."""
    answered = 0
    request = _request("POST", "/hmi/v1/hbstates", BIG_QUERY)

    async def client() -> None:
        nonlocal answered
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            while True:
                if await _exchange(stream, request) != 200:
                    raise RuntimeError("query refused")
                answered += 1

    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            for _ in range(clients):
                nursery.start_soon(client)
    return answered


async def probe(port: int, seconds: float, period: float = 0.02) -> list[float]:
    """GET /liveness every ``period`` on one keep-alive connection; returns latencies (s)."""
    latencies: list[float] = []
    request = _request("GET", "/hmi/v1/liveness")
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        end = trio.current_time() + seconds
        while trio.current_time() < end:
            start = trio.current_time()
            if await _exchange(stream, request) != 204:
                raise RuntimeError("liveness failed")
            latencies.append(trio.current_time() - start)
            await trio.sleep(period)
    return latencies


def measure(http_server: str, seconds: float) -> dict[str, float]:
    """Run the whole measurement against a fresh hbtd; return the figures."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hbtd_server", "--host", "127.0.0.1", "--port", str(port),
         "--nosm"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port)
        load = subprocess.Popen(
            [sys.executable, "-m", "bench.hbstates_liveness", "--load", str(port),
             "--seconds", str(seconds + 2)],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        try:
            trio.run(trio.sleep, 1.5)  # the queries are flowing
            latencies = trio.run(probe, port, seconds)
            out, _ = load.communicate(timeout=seconds + 60)
        finally:
            if load.poll() is None:
                load.kill()
    finally:
        stop(server)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "probes": len(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "max_ms": max(latencies) * 1000,
        "queries": int(out.strip() or 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http-server", default="lean", choices=["lean"])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--load", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(trio.run(query_load, args.load, args.seconds))
        return
    print(json.dumps({"http_server": args.http_server, **measure(args.http_server, args.seconds)}))


if __name__ == "__main__":
    main()

"""The heartbeat path of two or more source trees, compared in one process.

End-to-end benchmarks on a shared 2-core VM spread by 10 to 20 % from one round to the next,
more than a change on the heartbeat path usually costs. This one takes the machine out: each
tree's ``hbtd_server`` is copied under its own name into a temporary folder and imported into
this one process, and each runs ``Connection.run`` (reader, heartbeat route, engine, answer)
over a stream that never waits: N prepared path-form heartbeats on 3,000 node names, after a
warm-up pass over the same stream. CPU time per heartbeat, garbage collection off while
measured, rounds rotating which tree goes first. Prints the best and the median of each tree
and, against the first tree, the ratio of the bests and the median of the per-round ratios.

Usage: ``.venv/bin/python -m bench.connection_ab before=TREE after=. [--rounds 30] [-n 5000]``
(a tree is a checkout of this repository: a git worktree of the commit to compare).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import trio

NAMES = [f"x{1000 + i // 64}c0s{(i // 8) % 8}b0n{i % 8}" for i in range(3000)]
BODY = b'{"Status":"OK","TimeStamp":"2026-11-25T10:00:00+00:00"}'


def prepared_requests(count: int) -> list[bytes]:
    head = (
        "POST /hmi/v1/heartbeat/{} HTTP/1.1\r\nHost: hbtd:28500\r\nUser-Agent: hb-agent\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n"
    )
    return [head.format(NAMES[i % len(NAMES)], len(BODY)).encode() + BODY for i in range(count)]


class NeverWaits(trio.abc.HalfCloseableStream):
    """A client that has sent every request already and reads every answer at once."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.next = 0
        self.answers = 0

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self.next >= len(self.requests):
            return b""
        self.next += 1
        return self.requests[self.next - 1]

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.answers += 1

    async def wait_send_all_might_not_block(self) -> None:
        pass

    async def send_eof(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    pass


def load_tree(name: str, tree: Path, into: Path) -> dict[str, ModuleType]:
    """Import ``tree``'s hbtd_server as package ``name`` (its imports are relative)."""
    shutil.copytree(tree / "hbtd_server", into / name, ignore=shutil.ignore_patterns("__pycache__"))
    return {
        part: importlib.import_module(f"{name}.{module}")
        for part, module in (
            ("core", "core"),
            ("engine", "engine"),
            ("http", "http"),
            ("connection", "http._connection"),
        )
    }


async def per_heartbeat_us(tree: dict[str, ModuleType], requests: list[bytes]) -> float:
    engine = tree["engine"].Engine(tree["core"].DEFAULT_PARAMS)
    http, connection = tree["http"], tree["connection"]
    site = connection.Site(_no_app, inline=http.HeartbeatRoutes(engine), limits=http.Limits())
    await connection.Connection(NeverWaits(requests), site).run()  # warm the name cache
    stream = NeverWaits(requests)
    gc.collect()
    gc.disable()
    start = time.process_time()
    await connection.Connection(stream, site).run()
    seconds = time.process_time() - start
    gc.enable()
    if stream.answers != len(requests) or engine.heartbeats_accepted != 2 * len(requests):
        raise SystemExit(f"a heartbeat was not answered or not accepted ({stream.answers})")
    return seconds / len(requests) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", metavar="NAME=TREE")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("-n", type=int, default=5000, help="heartbeats per round")
    args = parser.parse_args()
    specs = [spec.split("=", 1) for spec in args.trees]
    if len(specs) < 2 or any(len(spec) != 2 or not spec[0].isidentifier() for spec in specs):
        parser.error("give two or more NAME=TREE, NAME a Python identifier")
    requests = prepared_requests(args.n)
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        trees = {name: load_tree(name, Path(tree), Path(folder)) for name, tree in specs}
        names = list(trees)
        results: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                results[name].append(trio.run(per_heartbeat_us, trees[name], requests))
    for name in names:
        values = results[name]
        print(f"{name}: best {min(values):.2f}, median {statistics.median(values):.2f} µs")
    first = names[0]
    for name in names[1:]:
        paired = [b / a for a, b in zip(results[first], results[name], strict=True)]
        print(
            f"{name}/{first}: best {min(results[name]) / min(results[first]):.3f}, "
            f"median of paired ratios {statistics.median(paired):.3f}"
        )


if __name__ == "__main__":
    main()

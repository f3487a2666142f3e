"""A free TCP port on loopback, for tests, benchmarks and the live runner."""

from __future__ import annotations

import socket

__all__ = ["free_port", "worker_ports"]

#: Where per-worker port blocks start: below Linux's ephemeral range (32768 and up), so the
#: OS never hands one of them to a process that asks for any port.
WORKER_PORTS_BASE = 20000
#: Ports in each worker's block.
WORKER_PORTS_SIZE = 100


def free_port(host: str = "127.0.0.1", *, within: range | None = None) -> int:
    """Return a TCP port nobody listens on now (the OS picks it; a race remains possible).

    Args:
        host: the address to bind to find it.
        within: try these ports first, in order (a block of this process's own, so that
            parallel test workers cannot pick the same one); the OS picks when all are taken.
    """
    for port in within or ():
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def worker_ports(worker: str | None) -> range | None:
    """The block of ports of a pytest-xdist worker (``gw0``, ``gw1``...); None for others.

    Each worker gets its own ``WORKER_PORTS_SIZE`` ports from ``WORKER_PORTS_BASE`` on.
    """
    if not worker or not worker.startswith("gw") or not worker[2:].isdigit():
        return None
    start = WORKER_PORTS_BASE + int(worker[2:]) % 100 * WORKER_PORTS_SIZE
    return range(start, start + WORKER_PORTS_SIZE)

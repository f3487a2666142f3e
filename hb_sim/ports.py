"""A free TCP port on loopback, for tests, benchmarks and the live runner."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nobody listens on now (the OS picks it; a race remains possible).

    Args:
        host: the address to bind to find it.
    """
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port

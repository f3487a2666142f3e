"""Listening sockets for the lean server: IPv4 and IPv6, SO_REUSEPORT, TLS."""

from __future__ import annotations

import socket as stdlib_socket
import ssl
from pathlib import Path
from typing import Any

import trio

__all__ = ["listener_urls", "make_ssl_context", "open_listeners"]

#: Pending connections the kernel holds for us: a whole machine's nodes reconnect at once after
#: a restart of the tracker.
DEFAULT_BACKLOG = 1024


async def open_listeners(
    host: str, port: int, *, reuse_port: bool = False, backlog: int = DEFAULT_BACKLOG
) -> list[trio.SocketListener]:
    """Bind and listen on ``host:port``: one socket per address family it resolves to.

    Args:
        host: an address or name; ``""`` means every address of both families.
        port: the port; 0 picks a free one.
        reuse_port: set SO_REUSEPORT, so several processes (``--workers``) share the port and
            the kernel spreads connections over them.
        backlog: the listen queue length.

    Raises:
        OSError: the address cannot be resolved or bound.
    """
    infos = await trio.socket.getaddrinfo(
        host or None,
        port,
        type=stdlib_socket.SOCK_STREAM,
        flags=stdlib_socket.AI_PASSIVE,
    )
    families: dict[int, Any] = {}
    for info in infos:
        families.setdefault(info[0], info[4])
    listeners: list[trio.SocketListener] = []
    try:
        for family, address in families.items():
            sock = trio.socket.socket(family, stdlib_socket.SOCK_STREAM)
            try:
                sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEPORT, 1)
                if family == stdlib_socket.AF_INET6:
                    # Both families separately when both resolved; "::" alone is dual-stack.
                    v6only = int(len(families) > 1)
                    sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_V6ONLY, v6only)
                await sock.bind(address)
                sock.listen(backlog)
            except BaseException:
                sock.close()
                raise
            listeners.append(trio.SocketListener(sock))
    except BaseException:
        for listener in listeners:
            listener.socket.close()
        raise
    return listeners


def listener_urls(listeners: list[trio.SocketListener], *, tls: bool) -> list[str]:
    """``http://127.0.0.1:28500`` (or ``https://[::1]:28500``) for each listener."""
    scheme = "https" if tls else "http"
    urls = []
    for listener in listeners:
        host, port = listener.socket.getsockname()[:2]
        urls.append(f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}")
    return urls


def make_ssl_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """A server TLS context: TLS 1.2 at least, HTTP/1.1 by ALPN.

    Raises:
        OSError, ssl.SSLError: the files cannot be read or do not match.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(certfile), keyfile=str(keyfile))
    context.set_alpn_protocols(["http/1.1"])
    return context

"""The store's flags: ``--kv_prefix``, ``--lease_ttl``, ``--workers``.

``--kv_url`` itself is one of upstream's parameters and stays with the others
(:class:`TrackerOptions`); these flags are checked together with it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import ClassVar

import click

from ..store import DEFAULT_LEASE_TTL, EtcdStore, Store, parse_kv_url
from ._flags import flag
from ._workers import worker_index

__all__ = ["StoreOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """What the store flags asked for."""

    DASHED_FIRST: ClassVar[bool] = False

    kv_prefix: str = flag("Prefix of every key hbtd keeps in etcd (extension).", default="hbtd/")
    lease_ttl: float = flag(
        "Seconds the leading replica's etcd lease lasts: another replica takes over at "
        "most this long after the leader dies (extension).",
        type=click.FloatRange(min=1.0),
        default=DEFAULT_LEASE_TTL,
    )
    workers: int = flag(
        "Tracker processes on this machine, replicas sharing the port and the etcd store "
        "(needs --kv_url http://...; extension).",
        type=click.IntRange(min=1),
        default=1,
    )

    def check(self, *, kv_url: str, port: int) -> None:
        """Check these flags together with ``--kv_url`` and ``--port``.

        Raises:
            click.UsageError: a malformed --kv_url, or --workers without a shared store or a
                fixed port, or an empty --kv_prefix.
        """
        endpoints = _endpoints(kv_url)
        if self.workers > 1 and endpoints is None:
            raise click.UsageError(
                f"--workers {self.workers} needs a shared store: with --kv_url mem: each worker "
                "would track only the nodes it happens to hear from. Give --kv_url "
                "http://HOST:2379."
            )
        if self.workers > 1 and port == 0:
            raise click.UsageError("--workers needs a fixed --port (0 would give each its own)")
        if not self.kv_prefix:
            raise click.UsageError("--kv_prefix must not be empty")

    def open_store(self, kv_url: str) -> Store | None:
        """The etcd store at ``kv_url`` (checked by :meth:`check`), or None for ``mem:``."""
        endpoints = _endpoints(kv_url)
        if endpoints is None:
            return None
        return EtcdStore(endpoints, prefix=self.kv_prefix)

    @property
    def replica_name(self) -> str:
        """This process's name in the store: host, worker and pid."""
        index = worker_index()
        worker = f"-w{index}" if index is not None else ""
        return f"{socket.gethostname() or 'hbtd'}{worker}-{os.getpid()}"


def _endpoints(kv_url: str) -> list[str] | None:
    try:
        return parse_kv_url(kv_url)
    except ValueError as error:
        raise click.UsageError(f"--kv_url: {error}") from None

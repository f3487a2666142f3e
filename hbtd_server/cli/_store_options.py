"""The store's command-line flags (#7): ``--kv_prefix``, ``--lease_ttl``, ``--workers``.

``--kv_url`` itself is one of upstream's parameters and stays with the others in ``cli.py``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from ..store import DEFAULT_LEASE_TTL, EtcdStore, Store, parse_kv_url
from ._option_group import add_options
from ._workers import worker_index

__all__ = ["StoreOptions", "store_from_cli", "store_options"]

_F = TypeVar("_F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--kv_prefix",
        "--kv-prefix",
        "kv_prefix",
        envvar="HBTD_KV_PREFIX",
        show_envvar=True,
        show_default=True,
        default="hbtd/",
        help="Prefix of every key hbtd keeps in etcd (extension).",
    ),
    click.option(
        "--lease_ttl",
        "--lease-ttl",
        "lease_ttl",
        envvar="HBTD_LEASE_TTL",
        show_envvar=True,
        show_default=True,
        type=click.FloatRange(min=1.0),
        default=DEFAULT_LEASE_TTL,
        help="Seconds the leading replica's etcd lease lasts: another replica takes over at "
        "most this long after the leader dies (extension).",
    ),
    click.option(
        "--workers",
        envvar="HBTD_WORKERS",
        show_envvar=True,
        show_default=True,
        type=click.IntRange(min=1),
        default=1,
        help="Tracker processes on this machine, replicas sharing the port and the etcd store "
        "(needs --kv_url http://...; extension).",
    ),
]
_KEYS = ("kv_prefix", "lease_ttl", "workers")


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """What the store flags asked for."""

    endpoints: list[str] | None
    prefix: str
    lease_ttl: float
    workers: int

    def open_store(self) -> Store | None:
        """The etcd store, or None for ``mem:``."""
        if self.endpoints is None:
            return None
        return EtcdStore(self.endpoints, prefix=self.prefix)

    @property
    def replica_name(self) -> str:
        """This process's name in the store: host, worker and pid."""
        index = worker_index()
        worker = f"-w{index}" if index is not None else ""
        return f"{socket.gethostname() or 'hbtd'}{worker}-{os.getpid()}"


def store_options(command: _F) -> _F:
    """Add the store flags to a click command."""
    return add_options(command, _OPTIONS)


def store_from_cli(values: dict[str, Any], *, kv_url: str, port: int) -> StoreOptions:
    """Take the store flags out of a command's keyword arguments and check them with --kv_url.

    Raises:
        click.UsageError: a malformed --kv_url, or --workers without a shared store.
    """
    given = {key: values.pop(key) for key in _KEYS}
    try:
        endpoints = parse_kv_url(kv_url)
    except ValueError as error:
        raise click.UsageError(f"--kv_url: {error}") from None
    workers: int = given["workers"]
    if workers > 1 and endpoints is None:
        raise click.UsageError(
            f"--workers {workers} needs a shared store: with --kv_url mem: each worker would "
            "track only the nodes it happens to hear from. Give --kv_url http://HOST:2379."
        )
    if workers > 1 and port == 0:
        raise click.UsageError("--workers needs a fixed --port (0 would give each its own)")
    prefix: str = given["kv_prefix"]
    if not prefix:
        raise click.UsageError("--kv_prefix must not be empty")
    return StoreOptions(endpoints, prefix, given["lease_ttl"], workers)

"""The store interface: a small key-value contract that memory and etcd both keep.

The tracker's state lives in memory (the core); a store is where it is *persisted* and *shared*.
The contract is the part of etcd the tracker needs, nothing more:

* ``get_prefix``: every key under a prefix, with the revision it was read at;
* ``apply``: one atomic batch of puts and deletes (at most ``MAX_TXN_OPS``, etcd's default
  limit of operations per transaction);
* ``watch``: every change under a prefix after a revision, as batches of events;
* ``acquire``/``refresh``/``release``: a key held under a lease with a TTL, the leader's key;
* ``get``: one key (``/readiness`` and ``/health`` read the health key).

Every failure of the store itself is :class:`StoreUnavailable`; callers retry.

``MemoryStore`` keeps its keys in a :class:`MemoryBackend`. Several ``MemoryStore`` clients may
share one backend, which lets tests run replicas in one trio run on virtual time; ``down`` makes
every call fail, to test outages. ``EtcdStore`` (``_etcd.py``) keeps the same contract, and one
parametrized test suite checks both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import trio

__all__ = [
    "MAX_TXN_OPS",
    "Op",
    "Store",
    "StoreUnavailable",
    "WatchEvent",
    "WatchSink",
    "chunked",
    "parse_kv_url",
]

#: etcd's default ``--max-txn-ops``.
MAX_TXN_OPS = 128

#: A put (value) or a delete (None) of one key.
Op = tuple[str, bytes | None]


class StoreUnavailable(Exception):
    """The store did not answer, or answered with an error. The message says which."""


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change seen by a watch: a put of ``value``, or a delete when ``value`` is None."""

    key: str
    value: bytes | None
    revision: int


WatchSink = Callable[[list[WatchEvent]], None]


class Store(Protocol):
    """What the tracker needs from a key-value store. Keys are text; values are bytes."""

    @property
    def description(self) -> str:
        """Where the store is, for logs and ``/health``."""
        ...

    async def get(self, key: str) -> bytes | None:
        """One key's value, or None if absent."""
        ...

    async def get_prefix(self, prefix: str) -> tuple[dict[str, bytes], int]:
        """Every key starting with ``prefix`` and the revision the read saw."""
        ...

    async def apply(self, ops: Sequence[Op]) -> int:
        """Apply puts and deletes atomically; returns the new revision.

        Raises:
            ValueError: more than ``MAX_TXN_OPS`` operations.
            StoreUnavailable: nothing was applied, or (on a timeout) it is unknown.
        """
        ...

    async def watch(
        self,
        prefix: str,
        sink: WatchSink,
        *,
        after: int,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Call ``sink`` with each batch of changes under ``prefix`` after revision ``after``.

        Reports started once the watch is in place; runs until cancelled.

        Raises:
            StoreUnavailable: the watch broke; start again from the last revision seen.
        """
        ...

    async def acquire(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Hold ``key`` (set to ``value``) under a lease of ``ttl`` seconds if no one else does.

        Returns whether this client holds it now. Holding it, call :meth:`refresh` well within
        ``ttl``; the key vanishes when the lease runs out.
        """
        ...

    async def refresh(self) -> bool:
        """Keep the lease alive; False if it had already expired (the key is lost)."""
        ...

    async def release(self) -> None:
        """Give the lease up at once, deleting the keys held under it."""
        ...

    async def aclose(self) -> None:
        """Release connections (not the lease)."""
        ...


def parse_kv_url(text: str) -> list[str] | None:
    """Parse ``--kv_url``: None for ``mem:``, else the etcd endpoints (comma-separated).

    Raises:
        ValueError: with a message for the operator.
    """
    text = text.strip()
    if text in ("mem:", "mem://", ""):
        return None
    endpoints = []
    for part in (p.strip() for p in text.split(",")):
        try:
            url = urlsplit(part)
            port = url.port
        except ValueError as error:
            raise ValueError(f"{part!r} is not a URL: {error}") from None
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"{part!r}: expected 'mem:' or etcd endpoints like http://HOST:2379[,http://...]"
            )
        if url.path not in ("", "/") or url.query or url.fragment:
            raise ValueError(f"{part!r}: an etcd endpoint has no path or query")
        host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
        endpoint = f"{url.scheme}://{host}:{port or 2379}"
        try:
            httpx.URL(endpoint)  # the etcd client's own parser: what it refuses fails here
        except httpx.InvalidURL as error:
            raise ValueError(f"{part!r} is not a URL: {str(error).split(',')[0]}") from None
        endpoints.append(endpoint)
    return endpoints


def chunked(ops: Sequence[Op], size: int = MAX_TXN_OPS) -> list[Sequence[Op]]:
    """Split operations into transactions of at most ``size``."""
    return [ops[i : i + size] for i in range(0, len(ops), size)]

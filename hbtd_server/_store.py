"""The store interface: a small key-value contract that memory and etcd both keep (#7).

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

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import trio

__all__ = [
    "KV_OK",
    "MAX_TXN_OPS",
    "MemoryBackend",
    "MemoryStore",
    "Op",
    "Store",
    "StoreHealth",
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


#: Upstream's ``KvStore`` string of ``/health`` when the store is fine.
KV_OK = "Initialization key present: HBTD_OK"


@dataclass(slots=True)
class StoreHealth:
    """What ``/readiness`` and ``/health`` say about the store.

    Attributes:
        ready: the store answered its last call; ``/readiness`` answers 503 while false.
        kv_status: upstream's ``KvStore`` string (``Error accessing key values:<why>``).
        unflushed: components whose latest state is not yet in the store.
        role: ``leader`` or ``follower`` with a shared store; ``single`` in memory.
    """

    ready: bool = True
    kv_status: str = KV_OK
    unflushed: int = 0
    role: str = "single"


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
        endpoints.append(f"{url.scheme}://{host}:{port or 2379}")
    return endpoints


# -- the memory store ------------------------------------------------------------------------


@dataclass(eq=False)
class _Lease:
    expires: float
    ttl: float
    keys: set[str] = field(default_factory=set)


@dataclass(eq=False)
class MemoryBackend:
    """The keys themselves; share one among several :class:`MemoryStore` clients.

    ``switch(down=True)`` makes every call fail with StoreUnavailable and breaks the watches,
    as an etcd outage does (for tests).
    """

    down: bool = False
    went_down: trio.Event = field(default_factory=trio.Event)
    data: dict[str, bytes] = field(default_factory=dict)
    revision: int = 0
    leases: dict[int, _Lease] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)
    watchers: list[tuple[str, WatchSink]] = field(default_factory=list)
    transactions: int = 0
    _lease_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def switch(self, *, down: bool) -> None:
        """Take the store away (``down=True``) or bring it back."""
        self.down = down
        if down:
            self.went_down.set()
        else:
            self.went_down = trio.Event()

    def check(self) -> None:
        if self.down:
            raise StoreUnavailable("memory store switched off")
        self._expire(trio.current_time())

    def commit(self, ops: Sequence[Op], lease: int | None = None) -> int:
        self.revision += 1
        self.transactions += 1
        events = []
        for key, value in ops:
            if value is None:
                if self.data.pop(key, None) is None:
                    continue
                self._unown(key)
            else:
                self.data[key] = value
                self._unown(key)
                if lease is not None:
                    self.owners[key] = lease
                    self.leases[lease].keys.add(key)
            events.append(WatchEvent(key, value, self.revision))
        if events:
            for prefix, sink in list(self.watchers):
                mine = [e for e in events if e.key.startswith(prefix)]
                if mine:
                    sink(mine)
        return self.revision

    def _unown(self, key: str) -> None:
        lease = self.owners.pop(key, None)
        if lease is not None and lease in self.leases:
            self.leases[lease].keys.discard(key)

    def _expire(self, now: float) -> None:
        for lease_id, lease in list(self.leases.items()):
            if lease.expires <= now:
                self.revoke(lease_id)

    def revoke(self, lease_id: int) -> None:
        lease = self.leases.pop(lease_id, None)
        if lease is not None and lease.keys:
            self.commit([(key, None) for key in sorted(lease.keys)])

    def grant(self, ttl: float) -> int:
        lease_id = next(self._lease_ids)
        self.leases[lease_id] = _Lease(trio.current_time() + ttl, ttl)
        return lease_id


class MemoryStore:
    """The embedded store: keys in a :class:`MemoryBackend`, which may be shared.

    Args:
        backend: the keys; a new, private one by default.
        prefix: prepended to every key, as ``--kv_prefix`` on etcd.
    """

    def __init__(self, backend: MemoryBackend | None = None, *, prefix: str = "") -> None:
        self.backend = backend if backend is not None else MemoryBackend()
        self.prefix = prefix
        self._lease: int | None = None

    @property
    def description(self) -> str:
        return "mem:"

    async def get(self, key: str) -> bytes | None:
        await trio.lowlevel.checkpoint()
        self.backend.check()
        return self.backend.data.get(self.prefix + key)

    async def get_prefix(self, prefix: str) -> tuple[dict[str, bytes], int]:
        await trio.lowlevel.checkpoint()
        self.backend.check()
        prefix = self.prefix + prefix
        strip = len(self.prefix)
        found = {k[strip:]: v for k, v in self.backend.data.items() if k.startswith(prefix)}
        return found, self.backend.revision

    async def apply(self, ops: Sequence[Op]) -> int:
        if len(ops) > MAX_TXN_OPS:
            raise ValueError(f"{len(ops)} operations in one transaction (at most {MAX_TXN_OPS})")
        await trio.lowlevel.checkpoint()
        self.backend.check()
        return self.backend.commit([(self.prefix + key, value) for key, value in ops])

    async def watch(
        self,
        prefix: str,
        sink: WatchSink,
        *,
        after: int,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        backend = self.backend
        backend.check()
        if after < backend.revision:
            # The memory store keeps no history: a watch can only start from now.
            raise StoreUnavailable(f"revision {after} is gone (now {backend.revision})")
        strip = len(self.prefix)

        def deliver(events: list[WatchEvent]) -> None:
            sink([WatchEvent(e.key[strip:], e.value, e.revision) for e in events])

        entry = (self.prefix + prefix, deliver)
        backend.watchers.append(entry)
        try:
            task_status.started()
            await backend.went_down.wait()  # a switched-off store breaks its watches
        finally:
            backend.watchers.remove(entry)
        raise StoreUnavailable("memory store switched off")

    async def acquire(self, key: str, value: bytes, *, ttl: float) -> bool:
        await trio.lowlevel.checkpoint()
        backend = self.backend
        backend.check()
        if self._lease is not None and self._lease not in backend.leases:
            self._lease = None
        key = self.prefix + key
        owner = backend.owners.get(key)
        if owner is not None and owner == self._lease:
            return True
        if key in backend.data:
            return False
        if self._lease is None:
            self._lease = backend.grant(ttl)
        backend.commit([(key, value)], lease=self._lease)
        return True

    async def refresh(self) -> bool:
        await trio.lowlevel.checkpoint()
        backend = self.backend
        backend.check()
        lease = backend.leases.get(self._lease) if self._lease is not None else None
        if lease is None:
            self._lease = None
            return False
        lease.expires = trio.current_time() + lease.ttl
        return True

    async def release(self) -> None:
        await trio.lowlevel.checkpoint()
        if self._lease is not None:
            lease, self._lease = self._lease, None
            self.backend.check()
            self.backend.revoke(lease)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def chunked(ops: Sequence[Op], size: int = MAX_TXN_OPS) -> list[Sequence[Op]]:
    """Split operations into transactions of at most ``size``."""
    return [ops[i : i + size] for i in range(0, len(ops), size)]

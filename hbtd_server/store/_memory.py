"""The memory store: the store contract kept in this process, for tests and ``mem:``.

``MemoryStore`` keeps its keys in a :class:`MemoryBackend`. Several ``MemoryStore`` clients may
share one backend, which lets tests run replicas in one trio run on virtual time; ``down`` makes
every call fail, to test outages.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import trio

from ._contract import MAX_TXN_OPS, Op, StoreUnavailable, WatchEvent, WatchSink

__all__ = ["MemoryBackend", "MemoryStore"]


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

"""What the tracker knows about the health of what it depends on, for ``/health`` and probes.

It sits below the engine and the store so that both can use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KV_OK", "StoreHealth"]

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

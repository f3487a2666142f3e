"""Where the tracker's state is persisted and shared: the store contract, the memory and
etcd stores, write-behind persistence, and leader-elected replicas.

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._contract import (
    MAX_TXN_OPS,
    Op,
    Store,
    StoreUnavailable,
    WatchEvent,
    WatchSink,
    chunked,
    parse_kv_url,
)
from ._etcd import CALL_TIMEOUT, EtcdStore
from ._memory import MemoryBackend, MemoryStore
from ._persist import (
    FLUSH_PERIOD,
    HEALTH_KEY,
    LEADER_KEY,
    MAX_BACKOFF,
    Persistence,
    decode_record,
    encode_hsm,
    encode_record,
    hsm_entries,
    params_from_store,
)
from ._replica import DEFAULT_LEASE_TTL, Replica, SharedState

__all__ = [
    "CALL_TIMEOUT",
    "DEFAULT_LEASE_TTL",
    "FLUSH_PERIOD",
    "HEALTH_KEY",
    "LEADER_KEY",
    "MAX_BACKOFF",
    "MAX_TXN_OPS",
    "EtcdStore",
    "MemoryBackend",
    "MemoryStore",
    "Op",
    "Persistence",
    "Replica",
    "SharedState",
    "Store",
    "StoreUnavailable",
    "WatchEvent",
    "WatchSink",
    "chunked",
    "decode_record",
    "encode_hsm",
    "encode_record",
    "hsm_entries",
    "params_from_store",
    "parse_kv_url",
]

"""Write-behind of the tracker's state to a store, and loading it back with a grace.

Layout under the prefix (``--kv_prefix``, default ``hbtd/``), values compact JSON:

* ``HBTD_HEALTH_KEY``: ``HBTD_OK``, written at start; ``/readiness`` reads it.
* ``params``: the ``/params`` object; every replica follows it.
* ``hb/<xname>``: a component's record: receive time (wall-clock epoch seconds), the sender's
  TimeStamp and Status, its state (alive or warning), and which replica wrote it.
* ``hsm/<xname>``: the HSM state wanted and the one acknowledged (``core.HsmLedger``).
* ``leader``: the replica that runs detection and the notifiers, under a lease.

A heartbeat never waits on the store: ``Engine.heartbeat`` only notes the name in the engine's
change journal (``journal.ChangeJournal``), where the HSM books note their entries too. Every
``FLUSH_PERIOD`` the flusher drains the journal and writes the *latest* state of each changed
component (so memory is bounded by the number of components, however long the store is away)
in transactions of at most 128 operations. A component's ``hsm/`` and ``hb/`` keys go in the
same transaction, so the death of a node (record deleted, "dead" wanted) is never
half-written. On a failure the names go back into the journal and the flusher backs off;
``/readiness`` says 503 until the store answers again. Each flush is reported to
``StoreHealth.observe_flush`` (the ``hbtd_store_flush_*`` metrics).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from ..core import ComponentView, HbState, Kind, Params, Transition, plural
from ..engine import Engine
from ..health import KV_OK
from ..notify import PARAM_CHECKS
from ._contract import MAX_TXN_OPS, Op, Store, StoreUnavailable
from ._replica_state import ReplicaState

__all__ = [
    "FLUSH_PERIOD",
    "HEALTH_KEY",
    "LEADER_KEY",
    "MAX_BACKOFF",
    "Persistence",
    "decode_record",
    "encode_hsm",
    "encode_record",
    "hsm_entries",
    "params_from_store",
]

log = logging.getLogger("hbtd.store")

HEALTH_KEY = "HBTD_HEALTH_KEY"
PARAMS_KEY = "params"
LEADER_KEY = "leader"
HB = "hb/"
HSM = "hsm/"
#: How often the flusher writes what changed.
FLUSH_PERIOD = 0.25
#: The longest pause between retries while the store is away.
MAX_BACKOFF = 5.0
#: How often an idle flusher checks that the store still answers.
HEALTH_PERIOD = 2.0
#: Transactions in flight at once (each holds at most 128 operations).
CONCURRENT_TXNS = 4
#: Parameters that belong to one process, never shared through the store.
_LOCAL_PARAMS = ("Port", "Kv_url")

_KINDS = {kind.name.lower(): kind for kind in Kind}


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A component's record as kept in the store."""

    view: ComponentView
    received: float  # wall-clock epoch seconds
    replica: str


def encode_record(view: ComponentView, *, received: float, replica: str) -> bytes:
    """The ``hb/<xname>`` value for a record; ``received`` is wall-clock epoch seconds."""
    return json.dumps(
        {
            "Component": view.xname,
            "Last_hb_rcv_time": round(received, 3),
            "Last_hb_timestamp": view.sender_timestamp,
            "Last_hb_status": view.status,
            "State": view.state.name.lower(),
            "Replica": replica,
        },
        separators=(",", ":"),
    ).encode()


def decode_record(value: bytes, *, offset: float) -> StoredRecord:
    """Read an ``hb/`` value; ``offset`` is wall clock minus the engine's clock.

    Raises:
        ValueError: not a record.
    """
    try:
        document = json.loads(value)
        received = float(document["Last_hb_rcv_time"])
        state = HbState[str(document.get("State", "alive")).upper()]
        view = ComponentView(
            xname=str(document["Component"]),
            state=state if state is HbState.WARNING else HbState.ALIVE,
            last_heartbeat=received - offset,
            sender_timestamp=str(document.get("Last_hb_timestamp", "")),
            status=str(document.get("Last_hb_status", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a heartbeat record: {error}") from None
    return StoredRecord(view, received, str(document.get("Replica", "")))


def encode_hsm(wanted: Kind | None, acked: Kind | None) -> bytes:
    """The ``hsm/<xname>`` value."""
    return json.dumps(
        {
            "Wanted": wanted.name.lower() if wanted else None,
            "Acked": acked.name.lower() if acked else None,
        },
        separators=(",", ":"),
    ).encode()


def decode_hsm(value: bytes) -> tuple[Kind | None, Kind | None]:
    """Read an ``hsm/`` value.

    Raises:
        ValueError: not one.
    """
    try:
        document = json.loads(value)
        wanted, acked = document["Wanted"], document["Acked"]
        return (_KINDS[wanted] if wanted else None, _KINDS[acked] if acked else None)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not an HSM entry: {error}") from None


def hsm_entries(found: Mapping[str, bytes]) -> dict[str, tuple[Kind | None, Kind | None]]:
    """The ``hsm/`` entries among keys read from the store, by component."""
    entries = {}
    for key, value in found.items():
        if key.startswith(HSM):
            try:
                entries[key[len(HSM) :]] = decode_hsm(value)
            except ValueError as error:
                log.error("ignoring stored HSM entry %s: %s", key, error)
    return entries


def params_from_store(current: Params, value: bytes) -> Params:
    """Apply stored parameters to ``current``; per-process ones (Port, Kv_url) stay.

    Raises:
        ValueError: the stored object is not valid parameters.
    """
    try:
        stored = json.loads(value)
        if not isinstance(stored, dict):
            raise ValueError("not an object")
        shared = {k: v for k, v in stored.items() if k not in _LOCAL_PARAMS}
        return current.patched(shared, checks=PARAM_CHECKS)
    except Exception as error:  # InvalidRequest and JSON errors alike
        raise ValueError(f"stored parameters not valid: {error}") from None


class Persistence:
    """Keeps a store in step with an engine: drains its change journal, loads its records.

    It owns this replica's :class:`ReplicaState` (``replica_state``), which starts leading.

    Args:
        engine: the tracker whose state is written.
        store: where to.
        replica: this process's name, stored in each record it writes.
        wall: wall-clock epoch seconds (``time.time``); tests pin it.
        flush_period: seconds between flushes.
    """

    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        replica: str = "hbtd",
        wall: Callable[[], float] = time.time,
        flush_period: float = FLUSH_PERIOD,
    ) -> None:
        self.engine = engine
        self.store = store
        self.replica = replica
        self.wall = wall
        self.flush_period = flush_period
        self.replica_state = ReplicaState(engine)
        self.params_dirty = False
        self._last_contact = -float("inf")
        engine.journal.open()
        engine.listeners.append(self._on_transitions)

    def _on_transitions(self, transitions: Sequence[Transition]) -> None:
        # Warnings change a record's state; deaths delete it. Written with the next flush.
        self.engine.journal.records(t.xname for t in transitions)

    def offset(self) -> float:
        """Wall-clock epoch seconds minus the engine's clock."""
        return self.wall() - self.engine.clock()

    # -- start ------------------------------------------------------------------------------

    async def start(self) -> int:
        """Write the health key and load what the store holds; returns the revision read.

        Parameters, records and HSM entries are loaded; records restart their deadlines from
        now (``Tracker.restore``), and HSM changes that were not acknowledged are pending
        again, so they are resent.

        Raises:
            StoreUnavailable: the store did not answer.
        """
        await self.store.apply([(HEALTH_KEY, b"HBTD_OK")])
        found, revision = await self.store.get_prefix("")
        self._mark_contact()
        stored_params = found.get(PARAMS_KEY)
        if stored_params is not None:
            try:
                self.engine.set_params(params_from_store(self.engine.params, stored_params))
            except ValueError as error:
                log.error("ignoring the stored parameters: %s", error)
        else:  # the first tracker on this store: its parameters become everyone's
            revision = await self.store.apply([(PARAMS_KEY, _params_value(self.engine.params))])
        records = self.records(found)
        # A follower leaves HSM to the leader; it loads these when it takes the lead.
        hsm = hsm_entries(found) if self.replica_state.leading else {}
        self.restore(records, hsm)
        log.info(
            "loaded %s and %s from %s",
            plural(len(records), "component record"),
            plural(len(hsm), "HSM entry", "HSM entries"),
            self.store.description,
        )
        return revision

    def restore(
        self,
        records: Iterable[ComponentView],
        hsm: Mapping[str, tuple[Kind | None, Kind | None]],
    ) -> None:
        """Load records with a grace and HSM entries (at start, and when taking the lead).

        A component HSM was last told is in warning (wanted, else acknowledged) is restored in
        warning, so its next heartbeat reports "restarted"; one HSM was told is dead but that
        has a record beat again since, so it is reported started.
        """
        engine, leading = self.engine, self.replica_state.leading
        books = engine.books
        books.load(hsm)
        views = []
        for view in records:
            wanted, acked = books.export(view.xname)
            told = wanted or acked
            state = HbState.WARNING if told is Kind.WARNING else HbState.ALIVE
            if told is Kind.DEAD or (told is None and leading):
                # A death deletes the record in the same transaction, so a record beside a
                # "dead" means the node beat again after it; a record HSM was never told of
                # was first heard by a follower (or its "started" was lost in a crash):
                # either way HSM must hear that it started.
                books.want(view.xname, Kind.STARTED)
            views.append(
                ComponentView(
                    view.xname, state, view.last_heartbeat, view.sender_timestamp, view.status
                )
            )
        engine.restore(views)
        # From now on the books' changes are the store's to write (a leader's only).
        engine.journal.keep_hsm(leading)
        if books.has_work():
            books.wake()

    def records(self, found: Mapping[str, bytes]) -> list[ComponentView]:
        """The ``hb/`` records among keys read from the store, on the engine's clock."""
        offset = self.offset()
        records = []
        for key, value in found.items():
            if key.startswith(HB):
                try:
                    records.append(decode_record(value, offset=offset).view)
                except ValueError as error:
                    log.error("ignoring stored record %s: %s", key, error)
        return records

    # -- the flusher ------------------------------------------------------------------------

    def pending(self) -> int:
        """Components (and parameters) whose latest state is not in the store yet."""
        return self.engine.journal.pending + self.params_dirty

    def take_ops(self) -> list[list[Op]]:
        """Take what changed as transactions; a component's keys share one transaction."""
        engine = self.engine
        hb_dirty, hsm_dirty = engine.journal.take()
        offset = self.offset()
        books = engine.books
        txns: list[list[Op]] = []
        current: list[Op] = []
        if self.params_dirty:
            self.params_dirty = False
            current.append((PARAMS_KEY, _params_value(engine.params)))
        for xname in hb_dirty | hsm_dirty:
            ops: list[Op] = []
            if xname in hsm_dirty:
                wanted, acked = books.export(xname)
                value = None if wanted is None and acked is None else encode_hsm(wanted, acked)
                ops.append((HSM + xname, value))
            if xname in hb_dirty:
                view = engine.view(xname)
                if view is None:
                    ops.append((HB + xname, None))
                else:
                    received = view.last_heartbeat + offset
                    ops.append(
                        (HB + xname, encode_record(view, received=received, replica=self.replica))
                    )
            if len(current) + len(ops) > MAX_TXN_OPS:
                txns.append(current)
                current = []
            current.extend(ops)
        if current:
            txns.append(current)
        return txns

    def give_back(self, txn: Iterable[Op]) -> None:
        """Mark the components of a transaction that failed as changed again."""
        records, hsm = [], []
        for key, _ in txn:
            if key.startswith(HB):
                records.append(key[len(HB) :])
            elif key.startswith(HSM):
                hsm.append(key[len(HSM) :])
            elif key == PARAMS_KEY:
                self.params_dirty = True
        self.engine.journal.put_back(records=records, hsm=hsm)

    async def flush(self) -> bool:
        """Write everything that changed. Returns whether all of it was written."""
        txns = self.take_ops()
        if not txns:
            return True
        started = trio.current_time()
        failed: list[list[Op]] = []
        errors: list[str] = []
        limiter = trio.CapacityLimiter(CONCURRENT_TXNS)

        async def write(txn: list[Op]) -> None:
            async with limiter:
                if errors:  # the store is away: do not pile more calls on it
                    failed.append(txn)
                    return
                try:
                    await self.store.apply(txn)
                except StoreUnavailable as error:
                    errors.append(str(error))
                    failed.append(txn)

        async with trio.open_nursery() as nursery:
            for txn in txns:
                nursery.start_soon(write, txn)
        for txn in failed:
            self.give_back(txn)
        self.engine.store_health.observe_flush(trio.current_time() - started, ok=not errors)
        if errors:
            self._mark_trouble(errors[0])
            return False
        self._mark_contact()
        return True

    async def check(self) -> bool:
        """Read the health key, as upstream's readiness does; returns whether it answered."""
        try:
            value = await self.store.get(HEALTH_KEY)
        except StoreUnavailable as error:
            self._mark_trouble(str(error))
            return False
        self._mark_contact(present=value is not None)
        return True

    async def run_flusher(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Flush every ``flush_period``; back off while the store is away. Runs until cancelled."""
        task_status.started()
        backoff = 0.0
        while True:
            await trio.sleep(backoff or self.flush_period)
            if self.pending():
                ok = await self.flush()
            elif not self.engine.store_health.ready or (
                trio.current_time() - self._last_contact >= HEALTH_PERIOD
            ):
                ok = await self.check()
            else:
                ok = True
            self.engine.store_health.report(unflushed=self.pending())
            backoff = 0.0 if ok else min(max(2 * backoff, self.flush_period), MAX_BACKOFF)

    async def final_flush(self, *, within: float) -> None:
        """On shutdown: write what is left, giving up after ``within`` seconds."""
        with trio.move_on_after(within):
            while self.pending():
                if not await self.flush():
                    await trio.sleep(self.flush_period)
        left = self.pending()
        if left:
            log.warning("shutting down with %s not written to the store", plural(left, "component"))

    def params_changed(self) -> None:
        """The parameters changed here: write them so every replica follows."""
        self.params_dirty = True

    # -- health -----------------------------------------------------------------------------

    def _mark_contact(self, *, present: bool = True) -> None:
        self._last_contact = trio.current_time()
        kv_status = KV_OK if present else "Initialization key not present"
        if not self.engine.store_health.report(ready=True, kv_status=kv_status):
            log.info("the store at %s answers again", self.store.description)

    def _mark_trouble(self, why: str) -> None:
        kv_status = f"Error accessing key values:{why}"
        if self.engine.store_health.report(ready=False, kv_status=kv_status):
            log.warning(
                "the store at %s does not answer (%s): heartbeats are kept in memory and "
                "written when it is back",
                self.store.description,
                why,
            )


def _params_value(params: Params) -> bytes:
    document: dict[str, Any] = params.to_json()
    return json.dumps(document, separators=(",", ":")).encode()

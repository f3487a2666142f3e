"""Replicas sharing one store: a watch keeps each one's view whole, a lease picks the leader.

Every replica accepts heartbeats and answers ``/hbstates`` and ``/hbstate``: the watch on the
prefix brings it the records the other replicas write. Exactly one replica, the holder of the
``leader`` key (under a lease of ``lease_ttl`` seconds), runs detection and the notifiers. On
taking the lead it loads the HSM entries from the store and restarts every deadline from now
(the grace of ``Tracker.restore``), so a change of leader never reports live nodes dead and
resends what HSM had not acknowledged. A leader that cannot renew its lease steps down before
the lease can have expired, so two replicas never detect at once.

A leader that steps down because the store is away (not because another replica took over)
*detaches*: it keeps detecting on its own, holds what it finds as wanted HSM states, and
sends nothing. It asks for the lead again every ``_DETACHED_RETRY``; on winning it reconciles
its results against the records it reloads (a node another replica heard from since is not
dead) and what is still true goes to HSM at once, not Warntime later. On losing, another
replica leads and judges the nodes again; the detached results are dropped. What each change
of role does to detection, the HSM books and the journal is ``ReplicaState``'s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable

import trio

from ..core import Kind, plural
from ..engine import Engine
from ._contract import Store, StoreUnavailable, WatchEvent
from ._persist import (
    HB,
    LEADER_KEY,
    PARAMS_KEY,
    Persistence,
    decode_record,
    hsm_entries,
    params_from_store,
)

__all__ = ["DEFAULT_LEASE_TTL", "Replica", "SharedState"]

log = logging.getLogger("hbtd.replica")

#: Seconds a dead leader keeps the lead.
DEFAULT_LEASE_TTL = 5.0
_RETRY = 1.0
#: How often a detached replica asks for the lead while the store is away: soon after the
#: store is back, what it detected meanwhile goes to HSM.
_DETACHED_RETRY = 0.25


class Replica:
    """Runs the watch and the election for one replica.

    Args:
        persistence: the engine and store of this replica.
        lease_ttl: the leader's lease; another replica takes over at most this long after the
            leader dies.
    """

    def __init__(self, persistence: Persistence, *, lease_ttl: float = DEFAULT_LEASE_TTL) -> None:
        self.persistence = persistence
        self.engine: Engine = persistence.engine
        self.state = persistence.replica_state
        self.store = persistence.store
        self.name = persistence.replica
        self.lease_ttl = lease_ttl
        self.revision = 0
        self.takeovers = 0
        self._params_from_store = self.engine.params
        # The running watch's scope, cancelled on shutdown before the store closes: a watch
        # read cut by the close is not a broken watch, and must not be logged as one.
        self._watch_scope: trio.CancelScope | None = None
        # Our own writes come back through the watch; the record ends with the writer's name,
        # so they are skipped before any decoding (most of the watch's traffic with one replica).
        self._own_suffix = json.dumps({"Replica": self.name}, separators=(",", ":"))[1:].encode()

    async def run(
        self, revision: int, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Watch from ``revision`` (what ``Persistence.start`` read) and take part in elections."""
        self.revision = revision
        async with trio.open_nursery() as nursery:
            await nursery.start(self._watch_forever)
            nursery.start_soon(self._elect_forever)
            nursery.start_soon(self._share_params)
            task_status.started()

    # -- the watch --------------------------------------------------------------------------

    async def _watch_forever(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        # Started at once: the watch replays everything after ``self.revision`` anyway.
        task_status.started()
        with trio.CancelScope() as self._watch_scope:  # a fresh one each time it runs
            await self._watch()

    async def _watch(self) -> None:
        while True:
            try:
                await self.store.watch("", self._apply, after=self.revision)
            except StoreUnavailable as error:
                log.warning("store watch broke (%s); resuming", error)
            await trio.sleep(_RETRY)
            try:
                await self._catch_up()
            except StoreUnavailable:
                continue

    async def _catch_up(self) -> None:
        # The history may be compacted away: read everything, then watch from there.
        found, revision = await self.store.get_prefix("")
        self._apply([WatchEvent(k, v, revision) for k, v in found.items()])
        self.revision = revision

    def _apply(self, events: list[WatchEvent]) -> None:
        engine = self.engine
        offset = self.persistence.offset()
        for event in events:
            self.revision = max(self.revision, event.revision)
            key = event.key
            if key.startswith(HB):
                xname = key[len(HB) :]
                if event.value is None:
                    if not engine.journal.has_record(xname):  # else our newer record follows
                        engine.forget(xname)
                    continue
                if event.value.endswith(self._own_suffix):
                    continue  # our own write coming back
                try:
                    record = decode_record(event.value, offset=offset)
                except ValueError:
                    continue
                if record.replica == self.name:
                    continue
                view = engine.view(xname)
                at = record.view.last_heartbeat
                if view is None or at > view.last_heartbeat + 1e-3:
                    engine.observe(
                        xname, at, timestamp=record.view.sender_timestamp, status=record.view.status
                    )
            elif key == PARAMS_KEY and event.value is not None:
                try:
                    params = params_from_store(engine.params, event.value)
                except ValueError as error:
                    log.error("ignoring stored parameters: %s", error)
                    continue
                if params != engine.params:
                    self._params_from_store = params
                    engine.set_params(params)

    async def _share_params(self) -> None:
        # A PATCH here is written to the store; every replica's watch applies it.
        while True:
            changed = self.engine.params_changed
            if self.engine.params != self._params_from_store:
                self._params_from_store = self.engine.params
                self.persistence.params_changed()
            await changed.wait()

    # -- the election -----------------------------------------------------------------------

    async def _elect_forever(self) -> None:
        period = self.lease_ttl / 3
        last_renewed = -math.inf
        while True:
            now = trio.current_time()
            state = self.state
            if state.leading:
                unreachable = False
                try:
                    held = await self.store.refresh()
                    if held:
                        last_renewed = now
                except StoreUnavailable as error:
                    # Lead on only while the lease surely still runs (a period to spare).
                    held = now - last_renewed < self.lease_ttl - period
                    unreachable = True
                    if not held:
                        log.warning("cannot renew the leader's lease (%s)", error)
                if not held:
                    self._detach() if unreachable else self._step_down()
            else:
                try:
                    won = await self.store.acquire(
                        LEADER_KEY, self.name.encode(), ttl=self.lease_ttl
                    )
                    if won:
                        await self._take_lead()
                        last_renewed = now
                    elif state.detached:  # the store is back and another replica leads
                        self._step_down()
                except StoreUnavailable as error:
                    log.debug("election: %s", error)
            await trio.sleep(min(period, _DETACHED_RETRY) if state.detached else period)

    async def _take_lead(self) -> None:
        found, _ = await self.store.get_prefix("")
        if self.state.detached:
            self._lead_again(found)
            return
        hsm = hsm_entries(found)
        engine = self.engine
        views = {view.xname: view for view in engine.views()}
        # Records this replica does not track: a death it saw while it was cut off from the
        # store and could not write. Restored with the grace, such a node is judged again.
        for view in self.persistence.records(found):
            views.setdefault(view.xname, view)
        self.state.take_lead()
        self.takeovers += 1
        self.persistence.restore(list(views.values()), hsm)
        # The first lead of a process is the normal start; leading again after losing the
        # lead (a failover back, an expired lease) is worth a warning.
        log.log(
            logging.INFO if self.takeovers == 1 else logging.WARNING,
            "replica %s leads now: %s tracked, deadlines restart from now; %s to resend",
            self.name,
            plural(engine.tracked, "component"),
            plural(engine.books.pending_count, "HSM change"),
        )

    def _lead_again(self, found: dict[str, bytes]) -> None:
        """Lead after detecting alone while the store was away: reconcile, then send.

        This replica never stopped detecting, so its own deadlines stand (no grace for what it
        tracks). Its held wishes replace the stored ones; then the reloaded records correct
        them: a record heard more recently than this replica's own view means another replica
        heard the node, so it is taken as a heartbeat (a warning becomes "restarted"); a node
        this replica declared dead is dead unless a record shows it heard within Errtime.
        Records of nodes this replica never tracked are restored with the grace.
        """
        engine, persistence = self.engine, self.persistence
        books = engine.books
        wishes = books.wishes()
        self.state.take_lead(hsm_entries(found), wishes=wishes)
        now, errtime = engine.clock(), engine.params.errtime
        unknown = []
        dead = []
        for record in persistence.records(found):
            xname = record.xname
            local = engine.view(xname)
            if local is not None:
                at = record.last_heartbeat
                if at > local.last_heartbeat + 1e-3:  # heard by another replica meanwhile
                    stamp, status = record.sender_timestamp, record.status
                    engine.observe(xname, at, timestamp=stamp, status=status)
            elif books.wanted(xname) is Kind.DEAD and now - record.last_heartbeat >= errtime:
                dead.append(xname)  # still true: its record goes with its "dead"
            else:
                unknown.append(record)
        self.takeovers += 1
        persistence.restore(unknown, {})
        engine.journal.records(dead)
        engine.journal.hsm_entries(x for x, _ in books.wishes())
        books.wake()
        log.warning(
            "replica %s leads again after the store came back: %s detected or held meanwhile "
            "are sent now; %s restored from the store",
            self.name,
            plural(books.pending_count, "HSM change"),
            plural(len(unknown), "component"),
        )

    def _detach(self) -> None:
        log.warning(
            "replica %s cannot reach the store: it no longer leads and sends nothing to HSM, "
            "but keeps detecting; what it finds is sent when it leads again",
            self.name,
        )
        self.state.detach()

    def _step_down(self) -> None:
        log.warning("replica %s lost the lead; another replica detects now", self.name)
        self.state.lose_lead()

    async def resign(self) -> None:
        """On shutdown: stop watching, and give the lead up at once, so another replica takes
        over sooner."""
        if self._watch_scope is not None:
            self._watch_scope.cancel()
        if self.state.leading:
            self.state.resign()
            with trio.move_on_after(1.0), contextlib.suppress(StoreUnavailable):
                await self.store.release()


class SharedState:
    """A replica's store tasks: the flusher, the watch and the election.

    Build with :meth:`open`, which loads the store (or fails at once with a clear reason).
    """

    def __init__(self, persistence: Persistence, replica: Replica, revision: int) -> None:
        self.persistence = persistence
        self.replica = replica
        self.revision = revision

    @classmethod
    async def open(
        cls,
        engine: Engine,
        store: Store,
        *,
        name: str,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        wall: Callable[[], float] = time.time,
    ) -> SharedState:
        """Load what ``store`` holds into ``engine``; this replica follows until elected.

        Raises:
            StoreUnavailable: the store did not answer.
        """
        persistence = Persistence(engine, store, replica=name, wall=wall)
        persistence.replica_state.follow()
        revision = await persistence.start()
        return cls(persistence, Replica(persistence, lease_ttl=lease_ttl), revision)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the flusher, the watch and the election until cancelled."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.persistence.run_flusher)
            # After a restart (see ``service``), watch on from where the watch had come.
            await nursery.start(self.replica.run, max(self.revision, self.replica.revision))
            task_status.started()

    async def shutdown(self, *, within: float) -> None:
        """Write what is left, give up the lead, close the store."""
        await self.persistence.final_flush(within=within)
        await self.replica.resign()
        await self.persistence.store.aclose()

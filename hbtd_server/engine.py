"""The running tracker: parameters, the core, the HSM ledger, and who to tell about changes.

Everything runs on one trio thread, so there are no locks: HTTP handlers, the detector and the
notifiers take turns. The engine itself never blocks; tasks wait on its events.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import trio

from .core import (
    SHUTDOWN_STATUS,
    ComponentLimit,
    HbState,
    Heartbeat,
    HsmLedger,
    HsmPatch,
    HsmView,
    Kind,
    Params,
    RefusalBackoff,
    Rejection,
    SilenceGuard,
    Tracker,
    Transition,
    WaveLog,
    plural,
)
from .health import HsmHealth, ReconcileHealth, StoreHealth, TaskHealth
from .hsm_books import REFUSAL_BACKOFF_CAP, HsmBooks

__all__ = [
    "DEFAULT_MAX_COMPONENTS",
    "REFUSAL_BACKOFF_CAP",
    "Engine",
    "HsmHealth",
    "ParamsListener",
    "TransitionListener",
]

log = logging.getLogger("hbtd")

#: The most components tracked at once (#13): far above a full 12,000-node machine, far below
#: what a flood of invented names could cost in memory. Pending HSM changes share the bound.
DEFAULT_MAX_COMPONENTS = 100_000
#: Refusals by the component limit less than this many seconds apart are one burst (one log line).
_LIMIT_BURST_GAP = 60.0


#: Called with every batch of transitions as they happen (telemetry, metrics, simulators).
TransitionListener = Callable[[Sequence[Transition]], None]
#: Called with the new parameters after every change (the service applies ``Debug`` to the
#: process's loggers this way; the engine itself touches no process-wide state).
ParamsListener = Callable[[Params], None]


class Engine:
    """Owns the tracker's state and routes its changes.

    Args:
        params: the starting parameters.
        clock: seconds on a monotonic scale; ``trio.current_time`` in service.
        max_components: the most components tracked, and HSM changes pending, at once; a
            heartbeat from a new name beyond it is refused (503).
    """

    def __init__(
        self,
        params: Params,
        *,
        clock: Callable[[], float] = trio.current_time,
        max_components: int = DEFAULT_MAX_COMPONENTS,
    ) -> None:
        if max_components < 1:
            raise ValueError(f"max_components must be at least 1, not {max_components}")
        self.max_components = max_components
        self._last_limit_refusal = -math.inf
        self._params = params
        self.clock = clock
        self.tracker = Tracker(warntime=params.warntime, errtime=params.errtime)
        self.books = HsmBooks(lambda: self._params, clock)
        self.guard = SilenceGuard(params.guard_settings())
        #: Failures of the background tasks, each restarted by the service's supervisor.
        self.tasks = TaskHealth()
        self.listeners: list[TransitionListener] = []
        self.params_listeners: list[ParamsListener] = []
        self.heartbeats_accepted = 0
        #: Refused heartbeats by reason (see :meth:`count_rejected`), for metrics.
        self.heartbeats_rejected: Counter[Rejection] = Counter()
        # Debug >= 2 logs every heartbeat with both clocks; a plain flag keeps it free when off.
        self._log_heartbeats = params.debug >= 2
        self.transitions_total: Counter[Kind] = Counter()
        self._wave = WaveLog()
        self._detector_wakeup = trio.Event()
        self._detector_sleeps_until = math.inf
        self.params_changed = trio.Event()
        # The persistent store (#7): components heard from since the last flush (None: no
        # store drains it), its health, and whether this replica runs detection and notifiers.
        self._store_dirty: set[str] | None = None
        self.store = StoreHealth()
        self._leading = True
        # Cut off from the store after leading (#13): detection goes on, its results are held
        # in the ledger, nothing is sent to HSM until this replica leads again.
        self._detached = False
        self._stopped = False  # shutting down: no more deadlines fire

    # -- parameters -----------------------------------------------------------------------

    @property
    def params(self) -> Params:
        """The parameters in force."""
        return self._params

    def set_params(self, params: Params) -> None:
        """Apply new parameters at once (from ``PATCH /params``)."""
        old, self._params = self._params, params
        if old == params:
            return
        self.tracker.set_times(warntime=params.warntime, errtime=params.errtime)
        self.guard.settings = params.guard_settings()
        given_back = self.guard.disable_if_off()
        if given_back:
            log.warning("silence guard disabled: releasing held alerts (%d)", len(given_back))
            self._publish(given_back)
        self._log_heartbeats = params.debug >= 2
        before = old.to_public_json()
        changed = {k: v for k, v in params.to_public_json().items() if before[k] != v}
        if old.sm_url != params.sm_url and "Sm_url" not in changed:
            changed["Sm_url"] = "(new credentials)"
        log.info("parameters changed: %s", ", ".join(f"{k}={v}" for k, v in changed.items()))
        self._poke_detector()
        for listener in self.params_listeners:
            listener(params)
        if old.reconcile_interval != params.reconcile_interval:
            self.books.wake_reconciler()
        self.params_changed.set()
        self.params_changed = trio.Event()

    # -- events in ------------------------------------------------------------------------

    def heartbeat(self, heartbeat: Heartbeat) -> None:
        """Take one validated heartbeat. Never blocks: this is the hot path.

        Raises:
            ComponentLimit: a new component while ``max_components`` are tracked or pending.
        """
        now = self.clock()
        if heartbeat.xname not in self.tracker and self._at_limit():
            self._refuse_new(heartbeat.xname, now)
        self.heartbeats_accepted += 1
        if self.guard.heartbeat(now):
            log.warning(
                "silence guard: heartbeats are arriving again; alerts still held in %g s are "
                "released for components that stay silent",
                self._params.warntime,
            )
            self._poke_detector()
        if self._log_heartbeats:
            # The record's own timestamp is the wall-clock receive time: with the sender's
            # TimeStamp it shows clock skew between a node and the tracker (#8).
            log.debug(
                "heartbeat %s: sender TimeStamp %r, Status %r",
                heartbeat.xname,
                heartbeat.timestamp,
                heartbeat.status,
                extra={
                    "event": "heartbeat",
                    "xname": heartbeat.xname,
                    "sender_timestamp": heartbeat.timestamp,
                    "status": heartbeat.status,
                    "received": now,
                },
            )
        announced = heartbeat.status == SHUTDOWN_STATUS and heartbeat.xname in self.tracker
        transition = self.tracker.heartbeat(
            heartbeat.xname, now, timestamp=heartbeat.timestamp, status=heartbeat.status
        )
        if self._store_dirty is not None:
            self._store_dirty.add(heartbeat.xname)
        if announced and heartbeat.xname not in self.tracker:  # forgotten, not a restart
            self._wave.shutdown(heartbeat.xname)
        if transition is None:
            if heartbeat.status == SHUTDOWN_STATUS:
                self._forgotten(heartbeat.xname)
        else:
            self._publish((transition,))
            # A new or restarted component may be due before the detector's next wake-up.
            if transition.at + self._params.warntime < self._detector_sleeps_until:
                self._poke_detector()

    def count_rejected(self, reason: Rejection) -> None:
        """Count a refused heartbeat (its error's ``reason``); on the error path only."""
        self.heartbeats_rejected[reason] += 1

    def _at_limit(self) -> bool:
        limit = self.max_components
        # O(1): a start-up wave asks this for every node.
        return len(self.tracker) >= limit or self.ledger.outstanding >= limit

    def _refuse_new(self, xname: str, now: float) -> None:
        if now - self._last_limit_refusal >= _LIMIT_BURST_GAP:
            log.warning(
                "component limit: refusing heartbeats from new components (e.g. %s) while %d "
                "are tracked and %s pending (the limit is %d, --max_components)",
                xname,
                len(self.tracker),
                plural(self.ledger.pending_count, "HSM change"),
                self.max_components,
                extra={"event": "component_limit", "example": xname},
            )
        self._last_limit_refusal = now
        raise ComponentLimit(
            f"Tracking the most components allowed ({self.max_components}); "
            "a heartbeat from a new component is refused for now"
        )

    def observe(self, xname: str, at: float, *, timestamp: str, status: str) -> None:
        """Take a heartbeat another replica received at ``at`` (seen in the store, #7)."""
        now = self.clock()
        self.guard.heartbeat(min(at, now))
        transition = self.tracker.heartbeat(xname, min(at, now), timestamp=timestamp, status=status)
        if transition is None and status == SHUTDOWN_STATUS:
            self._forgotten(xname)
        if transition is not None:
            self._publish((transition,))
            self._poke_detector()

    def detect(self) -> float:
        """Fire due deadlines; return when to look again (``math.inf``: nothing tracked)."""
        if self._stopped or not (self._leading or self._detached):  # another replica detects
            self._detector_sleeps_until = math.inf
            return math.inf
        now = self.clock()
        tracker, guard, warntime = self.tracker, self.guard, self._params.warntime
        transitions = tracker.advance(now)
        if transitions:
            was_engaged = guard.engaged_since is not None
            transitions = guard.filter(
                transitions,
                now,
                tracked=len(tracker),
                warning=tracker.warning_count,
                warntime=warntime,
            )
            if not was_engaged and guard.engaged_since is not None:
                log.warning(
                    "silence guard engaged: %d of %s in warning and no heartbeat "
                    "from anyone for %g s; holding alerts for up to %g s",
                    tracker.warning_count,
                    plural(len(tracker), "component"),
                    now - guard.last_heartbeat,
                    guard.settings.hold_limit,
                )
        released, reason = guard.poll(now, warntime=warntime, is_tracked=tracker.__contains__)
        if reason is not None:
            log.warning("silence guard released held alerts (%d): %s", len(released), reason)
            transitions = [*transitions, *released]
        if transitions:
            self._publish(transitions)
        deadlines = [
            d for d in (tracker.next_deadline(), guard.next_deadline(warntime)) if d is not None
        ]
        self._detector_sleeps_until = min(deadlines, default=math.inf)
        return self._detector_sleeps_until

    def stop_detecting(self) -> None:
        """On shutdown: fire what is due now, then nothing more.

        While the server drains it takes no new heartbeats, so a deadline passing then is the
        tracker's own silence, not the node's: reporting it would be a false alarm.
        """
        self.detect()
        self._stopped = True
        self._poke_detector()

    async def wait_detector_wakeup(self, deadline: float) -> None:
        """Sleep until ``deadline`` or until something earlier may be due."""
        with trio.move_on_at(deadline):
            await self._detector_wakeup.wait()
        self._detector_wakeup = trio.Event()

    # -- HSM: the notifier reports to the books (``hsm_books.HsmBooks``) -------------------

    @property
    def ledger(self) -> HsmLedger:
        """The HSM ledger (kept in the books)."""
        return self.books.ledger

    @ledger.setter
    def ledger(self, ledger: HsmLedger) -> None:
        self.books.ledger = ledger

    @property
    def hsm(self) -> HsmHealth:
        """HSM's health (kept in the books)."""
        return self.books.health

    @property
    def reconcile(self) -> ReconcileHealth:
        """What reconciliation did (kept in the books)."""
        return self.books.reconcile

    def hsm_readiness(self, ready: bool | None, reason: str = "") -> bool | None:
        """:meth:`HsmBooks.readiness`."""
        return self.books.readiness(ready, reason)

    def hsm_attempt(self, outcome: str, seconds: float, *, error: str | None = None) -> None:
        """:meth:`HsmBooks.attempt`."""
        self.books.attempt(outcome, seconds, error=error)

    def hsm_delivered(self, patch: HsmPatch) -> None:
        """:meth:`HsmBooks.delivered`."""
        self.books.delivered(patch)

    def hsm_refused(self, patch: HsmPatch, *, cause: str, whole: bool, detail: str) -> None:
        """:meth:`HsmBooks.refused`."""
        self.books.refused(patch, cause=cause, whole=whole, detail=detail)

    def hsm_failed(self, patch: HsmPatch, *, error: str | None = None) -> None:
        """:meth:`HsmBooks.failed`."""
        self.books.failed(patch, error=error)

    def refusal_backoff(self) -> RefusalBackoff:
        """:meth:`HsmBooks.refusal_backoff`."""
        return self.books.refusal_backoff()

    def hsm_refusal(self) -> tuple[int, float | None]:
        """:meth:`HsmBooks.refusal`."""
        return self.books.refusal()

    def hsm_may_send(self, *, need_ready: bool = True) -> bool:
        """Whether the notifier may send now: leading, and :meth:`HsmBooks.may_send`."""
        return self._leading and self.books.may_send(need_ready=need_ready)

    def wake_hsm(self) -> None:
        """Tell the notifier that the ledger may have work."""
        self.books.wake()

    async def wait_hsm_work(self) -> None:
        """Sleep until the ledger may have new work or the parameters changed."""
        await self.books.wait_work(self.params_changed)

    # -- reconciliation: HSM read back --------------------------------------------------------

    def reconcile_names(self) -> list[str]:
        """The components reconciliation asks HSM about: tracked, and remembered dead."""
        tracker = self.tracker
        names = [view.xname for view in tracker.views()]
        names.extend(x for x in self.ledger.dead() if x not in tracker)
        return names

    def hsm_reconciled(self, read: dict[str, HsmView | None]) -> list[tuple[str, Kind]]:
        """HSM showed ``read``: take it as the ledger's picture and want what differs.

        The heartbeat truth is taken now, after the reads: a node that shut down or changed
        meanwhile is judged by what it is now (a changed one has its own change on the way).
        """
        tracker, dead = self.tracker, self.ledger.dead()
        levels: dict[str, Kind] = {}
        for xname in read:
            view = tracker.view(xname)
            if view is not None:
                levels[xname] = Kind.WARNING if view.state is HbState.WARNING else Kind.STARTED
            elif xname in dead:
                levels[xname] = Kind.DEAD
        return self.books.reconciled(read, levels)

    def reconcile_soon(self) -> None:
        """Reconcile at once (after start, on taking the lead)."""
        self.books.reconcile_now()

    async def wait_reconcile_wakeup(self, deadline: float) -> None:
        """Sleep until ``deadline`` or until a round is asked for."""
        await self.books.wait_reconcile(deadline)

    # -- replicas: who detects and notifies (#7) -------------------------------------------

    @property
    def leading(self) -> bool:
        """Whether this replica runs detection and the notifiers."""
        return self._leading

    @property
    def detached(self) -> bool:
        """Whether this replica led, lost the store, and detects on its own meanwhile (#13)."""
        return self._detached

    def follow(self) -> None:
        """Start as a follower: another replica (or a later election) leads."""
        self._leading = False
        self._detached = False
        self.store.role = "follower"
        self._poke_detector()

    def lead_acquired(self, ledger: HsmLedger) -> None:
        """This replica leads now, with ``ledger`` (loaded from the store) as HSM's books."""
        self.ledger = ledger
        self._leading = True
        self._detached = False
        self.store.role = "leader"
        self.reconcile_soon()  # the books came from the store: read HSM back

    def lead_lost(self) -> None:
        """Another replica leads now: stop detecting and notifying, drop the HSM books."""
        self._leading = False
        self._detached = False
        self.store.role = "follower"
        self.ledger.on_change = None
        self._forget_unwritten_deaths()
        self.ledger = HsmLedger()
        self._poke_detector()

    def detach(self) -> None:
        """The store is away and the lease may run out: stop notifying, keep detecting (#13).

        Transitions keep going into the ledger as wanted states; nothing is sent to HSM and
        nothing of HSM's is written to the store until :meth:`lead_acquired` (after which the
        replica reconciles them against the store) or :meth:`lead_lost` (which drops them).
        """
        self._leading = False
        self._detached = True
        self.store.role = "detached"
        self.ledger.on_change = None
        self._forget_unwritten_deaths()
        self._poke_detector()

    def resign(self) -> None:
        """On shutdown: stop leading at once (the lease is given up next)."""
        self._leading = False
        self._detached = False

    def _forget_unwritten_deaths(self) -> None:
        dirty = self._store_dirty
        if dirty:
            # Deleting a dead node's record is the leader's job, together with its "dead";
            # a replica that does not lead must not delete it alone (the next leader judges
            # the node again, or this one reconciles its own result when it leads again).
            dirty.difference_update([x for x in dirty if x not in self.tracker])

    # -- the store's write-behind (#7) -----------------------------------------------------

    def track_store_changes(self) -> None:
        """From now on, remember which components changed, for a store to write."""
        if self._store_dirty is None:
            self._store_dirty = set()
        if self.store.role == "single":
            self.store.role = "leader" if self._leading else "follower"

    def store_status(
        self,
        *,
        ready: bool | None = None,
        kv_status: str | None = None,
        unflushed: int | None = None,
    ) -> bool:
        """Record what the store's flusher found (for ``/readiness`` and ``/health``).

        Args:
            ready: whether the store answered its last call.
            kv_status: upstream's ``KvStore`` string.
            unflushed: components whose latest state is not in the store yet.

        Returns:
            Whether the store was ready before this call.
        """
        health = self.store
        before = health.ready
        if ready is not None:
            health.ready = ready
        if kv_status is not None:
            health.kv_status = kv_status
        if unflushed is not None:
            health.unflushed = unflushed
        return before

    def mark_dirty(self, xnames: Iterable[str]) -> None:
        """Remember that these components changed and must be written to the store.

        A detached replica writes no deletion (a death) until it leads again.
        """
        if self._store_dirty is not None:
            if self._detached:
                xnames = [x for x in xnames if x in self.tracker]
            self._store_dirty.update(xnames)

    def is_dirty(self, xname: str) -> bool:
        """Whether ``xname`` has a change the store does not have yet."""
        return self._store_dirty is not None and xname in self._store_dirty

    def take_dirty(self) -> set[str]:
        """The components changed since the last call (the store writes them now)."""
        dirty = self._store_dirty or set()
        if self._store_dirty is not None:
            self._store_dirty = set()
        return dirty

    @property
    def dirty_count(self) -> int:
        """How many components have changes the store does not have yet."""
        return len(self._store_dirty or ())

    # -- queries --------------------------------------------------------------------------

    def is_heartbeating(self, xname: str) -> bool:
        """Upstream's ``Heartbeating`` for a normalized name."""
        return self.tracker.is_heartbeating(xname, self.clock())

    def state_counts(self) -> dict[HbState, int]:
        """Tracked components per state."""
        return self.tracker.counts()

    # -- logging --------------------------------------------------------------------------

    def flush_wave_log(self) -> None:
        """Log one summary line per kind of transition (and for announced shutdowns) since the
        last call."""
        wave, self._wave = self._wave, WaveLog()
        for level, message, fields in wave.summaries(len(self.tracker)):
            log.log(level, "%s", message, extra=fields)

    # -- internals ------------------------------------------------------------------------

    def _publish(self, transitions: Sequence[Transition]) -> None:
        # The leader reports every change, from the store's watch (#7); a replica cut off
        # from the store keeps its own results as wanted states until it leads again (#13).
        if not (self._leading or self._detached):
            return
        ledger = self.ledger
        wave = self._wave
        for transition in transitions:
            if transition.kind is Kind.DEAD:
                ledger.forget(transition.xname)  # dropped: its next beat is a new start
            ledger.want(transition.xname, transition.kind)
            wave.counts[transition.kind] += 1
            wave.examples.setdefault(transition.kind, transition.xname)
            self.transitions_total[transition.kind] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s: due %.3f, detected %.3f, sender TimeStamp %r, Status %r",
                    transition.xname,
                    transition.kind.name.lower(),
                    transition.due,
                    transition.at,
                    transition.sender_timestamp,
                    transition.status,
                    extra={
                        "event": "transition",
                        "xname": transition.xname,
                        "kind": transition.kind.name.lower(),
                        "due": transition.due,
                        "detected": transition.at,
                        "sender_timestamp": transition.sender_timestamp,
                        "status": transition.status,
                    },
                )
        for listener in self.listeners:
            listener(transitions)
        self.books.wake()

    def _forgotten(self, xname: str) -> None:
        # A Shutdown forgot a live node: what HSM showed for it is no longer ours to know
        # (HSM's power events take it Off and On), so its next "started" starts afresh.
        if xname not in self.tracker and (self._leading or self._detached):
            self.ledger.forget(xname)

    def poke_detector(self) -> None:
        """Make the detector look again now (parameters or leadership changed)."""
        self._detector_wakeup.set()

    def _poke_detector(self) -> None:
        self._detector_wakeup.set()

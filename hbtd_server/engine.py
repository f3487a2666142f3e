"""The running tracker: heartbeat intake, detection, and who to tell about changes.

One trio thread, no locks: HTTP handlers, the detector and the notifiers take turns; the engine
never blocks, tasks wait on its events. It owns the tracker (private), the silence guard, the
HSM books (``books``), the change journal (``journal``) and the store's health; what it does
(lead, hold, follow) is its :class:`Duty`, which the store's ``ReplicaState`` sets.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import trio

from . import _engine_log as logs
from ._engine_log import log
from .core import (
    SHUTDOWN_STATUS,
    ComponentLimit,
    ComponentView,
    HbState,
    Heartbeat,
    HsmLedger,
    Kind,
    Params,
    Rejection,
    SilenceGuard,
    Tracker,
    Transition,
    WaveLog,
)
from .health import HsmHealth, StoreHealth, TaskHealth
from .hsm_books import HsmBooks
from .journal import ChangeJournal

__all__ = [
    "DEFAULT_MAX_COMPONENTS",
    "Duty",
    "Engine",
    "HsmHealth",
    "ParamsListener",
    "TransitionListener",
]

#: The most components tracked at once: far above a full 12,000-node machine, far below what a
#: flood of invented names could cost in memory. Pending HSM changes share the bound.
DEFAULT_MAX_COMPONENTS = 100_000
#: Refusals by the component limit less than this many seconds apart are one burst (one log line).
_LIMIT_BURST_GAP = 60.0

#: Called with every batch of transitions as they happen (telemetry, metrics, simulators).
TransitionListener = Callable[[Sequence[Transition]], None]
#: Called with the new parameters after every change (the service applies ``Debug`` to the
#: process's loggers this way; the engine itself touches no process-wide state).
ParamsListener = Callable[[Params], None]


class Duty(enum.Enum):
    """What a replica does: LEAD detects, reports and sends to HSM (alone, or the store's
    leader); HOLD detects and keeps its results as wanted HSM states, sending nothing (a
    leader cut off from the store); FOLLOW tracks what the others hear and reports nothing."""

    LEAD = "lead"
    HOLD = "hold"
    FOLLOW = "follow"


class Engine:
    """Owns the tracker's state and routes its changes.

    Args:
        params: the starting parameters.
        clock: seconds on a monotonic scale; ``trio.current_time`` in service.
        max_components: the most components tracked, and HSM changes pending, at once; a
            heartbeat from a new name beyond it is refused (503).
        tracker: the tracker to run (default: a new one with ``params``' times).
        ledger: the HSM ledger the books start with (default: an empty one).
    """

    def __init__(
        self,
        params: Params,
        *,
        clock: Callable[[], float] = trio.current_time,
        max_components: int = DEFAULT_MAX_COMPONENTS,
        tracker: Tracker | None = None,
        ledger: HsmLedger | None = None,
    ) -> None:
        if max_components < 1:
            raise ValueError(f"max_components must be at least 1, not {max_components}")
        self.max_components = max_components
        self._last_limit_refusal = -math.inf
        self._params = params
        self.clock = clock
        default = Tracker(warntime=params.warntime, errtime=params.errtime)
        self._tracker = default if tracker is None else tracker
        #: What changed since the store's last flush (records here, HSM entries in the books).
        self.journal = ChangeJournal()
        self.books = HsmBooks(lambda: self._params, clock, self.journal, ledger=ledger)
        self.guard = SilenceGuard(params.guard_settings())
        #: The store's health, for ``/readiness`` and ``/health`` (kept with no store too).
        self.store_health = StoreHealth()
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
        self._duty = Duty.LEAD
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
        self._tracker.set_times(warntime=params.warntime, errtime=params.errtime)
        self.guard.settings = params.guard_settings()
        given_back = self.guard.disable_if_off()
        if given_back:
            log.warning("silence guard disabled: releasing held alerts (%d)", len(given_back))
            self._publish(given_back)
        self._log_heartbeats = params.debug >= 2
        logs.params_changed(old, params)
        self.poke_detector()
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
        if heartbeat.xname not in self._tracker:
            self._refuse_if_full(heartbeat.xname, now)
        self.heartbeats_accepted += 1
        if self.guard.heartbeat(now):
            log.warning(
                "silence guard: heartbeats are arriving again; alerts still held in %g s are "
                "released for components that stay silent",
                self._params.warntime,
            )
            self.poke_detector()
        if self._log_heartbeats:
            logs.heartbeat(heartbeat, now)
        announced = heartbeat.status == SHUTDOWN_STATUS and heartbeat.xname in self._tracker
        transition = self._tracker.heartbeat(
            heartbeat.xname, now, timestamp=heartbeat.timestamp, status=heartbeat.status
        )
        self.journal.record(heartbeat.xname)
        if announced and heartbeat.xname not in self._tracker:  # forgotten, not a restart
            self._wave.shutdown(heartbeat.xname)
        if transition is None:
            if heartbeat.status == SHUTDOWN_STATUS:
                self._forgotten(heartbeat.xname)
        else:
            self._publish((transition,))
            # A new or restarted component may be due before the detector's next wake-up.
            if transition.at + self._params.warntime < self._detector_sleeps_until:
                self.poke_detector()

    def count_rejected(self, reason: Rejection) -> None:
        """Count a refused heartbeat (its error's ``reason``); on the error path only."""
        self.heartbeats_rejected[reason] += 1

    def _refuse_if_full(self, xname: str, now: float) -> None:
        limit = self.max_components
        # O(1): a start-up wave asks this for every node.
        if len(self._tracker) < limit and self.books.outstanding < limit:
            return
        if now - self._last_limit_refusal >= _LIMIT_BURST_GAP:
            tracked, pending = len(self._tracker), self.books.pending_count
            logs.component_limit(xname, tracked=tracked, pending=pending, limit=self.max_components)
        self._last_limit_refusal = now
        raise ComponentLimit(
            f"Tracking the most components allowed ({self.max_components}); "
            "a heartbeat from a new component is refused for now"
        )

    def observe(self, xname: str, at: float, *, timestamp: str, status: str) -> None:
        """Take a heartbeat another replica received at ``at`` (seen in the store)."""
        now = self.clock()
        self.guard.heartbeat(min(at, now))
        transition = self._tracker.heartbeat(
            xname, min(at, now), timestamp=timestamp, status=status
        )
        if transition is None and status == SHUTDOWN_STATUS:
            self._forgotten(xname)
        if transition is not None:
            self._publish((transition,))
            self.poke_detector()

    def detect(self) -> float:
        """Fire due deadlines; return when to look again (``math.inf``: nothing tracked)."""
        if self._stopped or self._duty is Duty.FOLLOW:  # another replica detects
            self._detector_sleeps_until = math.inf
            return math.inf
        now = self.clock()
        tracker, guard, warntime = self._tracker, self.guard, self._params.warntime
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
                logs.guard_engaged(
                    warning=tracker.warning_count,
                    tracked=len(tracker),
                    silent_for=now - guard.last_heartbeat,
                    hold=guard.settings.hold_limit,
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
        """On shutdown: fire what is due now, then nothing more (while the server drains, a
        passing deadline is the tracker's own silence: reporting it would be a false alarm)."""
        self.detect()
        self._stopped = True
        self.poke_detector()

    async def wait_detector_wakeup(self, deadline: float) -> None:
        """Sleep until ``deadline`` or until something earlier may be due."""
        with trio.move_on_at(deadline):
            await self._detector_wakeup.wait()
        self._detector_wakeup = trio.Event()

    # -- the store: what this replica does, and the records it loads ------------------------

    @property
    def duty(self) -> Duty:
        """What this replica does about the components it tracks."""
        return self._duty

    def set_duty(self, duty: Duty) -> None:
        """Take up ``duty`` (the store's ``ReplicaState`` decides it; alone, always LEAD)."""
        self._duty = duty
        self.books.allow_sending(duty is Duty.LEAD)
        self.poke_detector()

    def restore(self, views: Iterable[ComponentView]) -> None:
        """Track stored records, each given a fresh grace (``Tracker.restore``)."""
        self._tracker.restore(views, self.clock())
        self.poke_detector()

    def forget(self, xname: str) -> None:
        """Stop tracking ``xname``: the replica that leads deleted its record."""
        self._tracker.forget(xname)

    # -- queries --------------------------------------------------------------------------

    def is_heartbeating(self, xname: str) -> bool:
        """Upstream's ``Heartbeating`` for a normalized name."""
        return self._tracker.is_heartbeating(xname, self.clock())

    def state_counts(self) -> dict[HbState, int]:
        """Tracked components per state."""
        return self._tracker.counts()

    @property
    def tracked(self) -> int:
        """How many components are tracked."""
        return len(self._tracker)

    def view(self, xname: str) -> ComponentView | None:
        """``xname``'s record, if tracked."""
        return self._tracker.view(xname)

    def views(self) -> Iterator[ComponentView]:
        """Every tracked component's record."""
        return self._tracker.views()

    def flush_wave_log(self) -> None:
        """Log one line per kind of transition (and shutdowns) since the last call."""
        wave, self._wave = self._wave, WaveLog()
        for level, message, fields in wave.summaries(len(self._tracker)):
            log.log(level, "%s", message, extra=fields)

    # -- internals ------------------------------------------------------------------------

    def _publish(self, transitions: Sequence[Transition]) -> None:
        # A follower hears every change from the leader through the store; a replica cut off
        # from the store keeps its own results as wanted states until it leads again.
        if self._duty is Duty.FOLLOW:
            return
        books, wave, debug = self.books, self._wave, log.isEnabledFor(logging.DEBUG)
        for transition in transitions:
            if transition.kind is Kind.DEAD:
                books.forget(transition.xname)  # dropped: its next beat is a new start
            books.want(transition.xname, transition.kind)
            wave.counts[transition.kind] += 1
            wave.examples.setdefault(transition.kind, transition.xname)
            self.transitions_total[transition.kind] += 1
            if debug:
                logs.transition(transition)
        for listener in self.listeners:
            listener(transitions)
        books.wake()

    def _forgotten(self, xname: str) -> None:
        # A Shutdown forgot a live node: what HSM showed for it is no longer ours to know
        # (HSM's power events take it Off and On), so its next "started" starts afresh.
        if xname not in self._tracker and self._duty is not Duty.FOLLOW:
            self.books.forget(xname)

    def poke_detector(self) -> None:
        """Make the detector look again now (parameters, duty or records changed)."""
        self._detector_wakeup.set()

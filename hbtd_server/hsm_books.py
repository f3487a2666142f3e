"""The HSM books: what hbtd wants HSM to show, what it believes HSM shows, and HSM's health.

One object, :class:`HsmBooks`, is the notifier's and the reconciler's one counterpart: the
ledger (wanted states and the picture of HSM, ``core.HsmLedger``, private to the books), HSM's
health (``HsmHealth``: readiness, PATCH outcomes, errors), the back-off of refusals, and
reconciliation's record (``ReconcileHealth``). The engine owns it (``Engine.books``) and
appends the transitions it detects; the store loads and saves its entries, and every change of
an entry goes into the engine's change journal. Whether sending is allowed at all (this replica
leads) is set by the engine's duty. Runs on the trio thread: no locks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping

import trio

from .core import (
    ComponentView,
    HbState,
    HsmLedger,
    HsmPatch,
    HsmView,
    Kind,
    Params,
    RefusalBackoff,
    plural,
)
from .health import HsmHealth, ReconcileHealth
from .journal import ChangeJournal

__all__ = ["REFUSAL_BACKOFF_CAP", "HsmBooks"]

hsm_log = logging.getLogger("hbtd.hsm")

#: The longest a state HSM refused waits before it is sent again; the first wait is
#: Interval, doubled after each refusal in a row.
REFUSAL_BACKOFF_CAP = 180.0


class HsmBooks:
    """The ledger, HSM's health, refusal back-off and reconciliation, kept together.

    Args:
        params: the parameters in force, asked for at each use.
        clock: seconds on the engine's monotonic scale.
        journal: where every change of an entry is noted, for the store.
        ledger: the ledger to start with (default: an empty one).
    """

    def __init__(
        self,
        params: Callable[[], Params],
        clock: Callable[[], float],
        journal: ChangeJournal,
        *,
        ledger: HsmLedger | None = None,
    ) -> None:
        self._params = params
        self.clock = clock
        self._journal = journal
        self._ledger = self._hooked(HsmLedger() if ledger is None else ledger)
        self._leading = True
        self.health = HsmHealth()
        self.reconcile_health = ReconcileHealth()
        self._work = trio.Event()
        self._reconcile_wakeup = trio.Event()

    def _hooked(self, ledger: HsmLedger) -> HsmLedger:
        ledger.on_change = self._journal.hsm
        return ledger

    # -- the entries: the engine's transitions, the store's loads ---------------------------

    def want(self, xname: str, kind: Kind) -> None:
        """HSM should show ``kind`` for ``xname`` (``HsmLedger.want``)."""
        self._ledger.want(xname, kind)

    def forget(self, xname: str) -> None:
        """The tracker forgot ``xname`` (``HsmLedger.forget``)."""
        self._ledger.forget(xname)

    def wanted(self, xname: str) -> Kind | None:
        """The newest state not yet acknowledged for ``xname``, if any."""
        return self._ledger.wanted(xname)

    def picture(self, xname: str) -> HsmView | None:
        """What the books believe HSM shows for ``xname`` (None: not known)."""
        return self._ledger.picture(xname)

    def dead(self) -> set[str]:
        """The components last wanted dead (and not heard from since)."""
        return self._ledger.dead()

    def export(self, xname: str) -> tuple[Kind | None, Kind | None]:
        """``(wanted, acknowledged)`` for ``xname``, as the store keeps it."""
        return self._ledger.export(xname)

    def wishes(self) -> list[tuple[str, Kind]]:
        """Every wanted state not acknowledged yet."""
        return self._ledger.wishes()

    def load(self, entries: Mapping[str, tuple[Kind | None, Kind | None]]) -> None:
        """Take stored ``(wanted, acknowledged)`` entries for components the books do not know;
        what was wanted and not acknowledged is sent again."""
        known = set(self._ledger.exported())
        self._ledger.restore({x: entry for x, entry in entries.items() if x not in known})

    def replace(
        self,
        entries: Mapping[str, tuple[Kind | None, Kind | None]] | None = None,
        *,
        wishes: Iterable[tuple[str, Kind]] = (),
    ) -> None:
        """Start new books from stored ``entries`` and then ``wishes`` (on taking or losing
        the lead: the old ones are another replica's business now). Not journaled: they are
        the store's already, or are journaled by whoever hands them over."""
        ledger = HsmLedger()
        ledger.restore(entries or {})
        ledger.want_all(wishes)
        self._ledger = self._hooked(ledger)

    @property
    def pending_count(self) -> int:
        """Components whose wanted state HSM has not acknowledged (in flight and held too)."""
        return self._ledger.pending_count

    @property
    def outstanding(self) -> int:
        """An O(1) upper bound of :attr:`pending_count`."""
        return self._ledger.outstanding

    @property
    def skipped_total(self) -> int:
        """204s for changes HSM's start-state table skipped, since start."""
        return self._ledger.skipped_total

    # -- the notifier -----------------------------------------------------------------------

    def has_work(self, now: float | None = None) -> bool:
        """Whether :meth:`take` would return anything (held states count once due at ``now``)."""
        return self._ledger.has_work(now)

    def next_retry(self) -> float | None:
        """The earliest time a held, refused state is due again, or None."""
        return self._ledger.next_retry()

    def take(self, now: float | None = None) -> list[HsmPatch]:
        """Every pending state as PATCHes, in flight until settled (``HsmLedger.take``)."""
        return self._ledger.take(now)

    def narrow(self, patch: HsmPatch) -> HsmPatch | None:
        """What of ``patch`` is still worth sending (``HsmLedger.narrow``)."""
        return self._ledger.narrow(patch)

    def readiness(self, ready: bool | None, reason: str = "") -> bool | None:
        """Record HSM's readiness (None: not asked, e.g. with Nosm); returns the previous one.

        Becoming ready wakes the notifier, so anything held back goes at once.
        """
        hsm = self.health
        before = hsm.ready
        hsm.ready = ready
        hsm.reason = reason
        if ready and before is not True:
            self._work.set()
        return before

    def attempt(self, outcome: str, seconds: float, *, error: str | None = None) -> None:
        """Count one PATCH attempt (``PATCH_OUTCOMES``); ``error`` says what went wrong."""
        if error is not None:
            self.health.last_error = error
        self.health.observe_patch(outcome, seconds)

    def delivered(self, patch: HsmPatch) -> None:
        """HSM acknowledged ``patch``: its states are HSM's now."""
        ledger, hsm = self._ledger, self.health
        ledger.settle(patch, delivered=True)
        hsm.refusal_streak = 0
        if hsm.logged_causes and not ledger.refused_count:
            hsm_log.warning(
                "HSM accepts again: every state it had refused is delivered (%s)",
                "; ".join(sorted(hsm.logged_causes)),
            )
            hsm.logged_causes.clear()

    def refused(self, patch: HsmPatch, *, cause: str, whole: bool, detail: str) -> None:
        """HSM refused ``patch`` (a 4xx): keep its states wanted and retry them later.

        Args:
            patch: the refused patch.
            cause: why, in a few words; the log says each cause once.
            whole: HSM (or its gateway) refuses us, not these IDs: nothing at all is sent
                until the notifier's own backoff ends.
            detail: HSM's answer, for ``/health``.
        """
        now = self.clock()
        hsm = self.health
        backoff = self.refusal_backoff()
        not_before = -math.inf
        if whole:
            if now >= hsm.refused_until:  # concurrent refusals share one step of backoff
                hsm.refusal_streak += 1
                hsm.refused_until = now + backoff.delay(hsm.refusal_streak)
            not_before = hsm.refused_until
        self._ledger.refuse(patch, now=now, backoff=backoff, not_before=not_before)
        hsm.last_error = detail
        if cause not in hsm.logged_causes:
            hsm.logged_causes.add(cause)
            hsm_log.error(
                "HSM refuses %s: %s to %s (e.g. %s) held and retried with backoff "
                "(from %g s up to %g s); HSM said %s",
                cause,
                plural(len(patch.xnames), "component"),
                patch.kind.hsm.message,
                patch.xnames[0],
                backoff.first,
                backoff.cap,
                detail,
                extra={"event": "hsm_refused", "cause": cause, "example": patch.xnames[0]},
            )

    def refusal_backoff(self) -> RefusalBackoff:
        """The backoff of refused states: Interval, doubling, capped at a few minutes."""
        first = float(self._params().interval)
        return RefusalBackoff(first=first, cap=max(first, REFUSAL_BACKOFF_CAP))

    def allow_sending(self, leading: bool) -> None:
        """Whether this replica may send to HSM at all (it leads): the engine's duty."""
        self._leading = leading

    def may_send(self, *, need_ready: bool = True) -> bool:
        """Whether HSM may be sent to now: this replica leads, Nosm is off, HSM does not refuse
        us, and (unless ``need_ready`` is false, as for the last flush on shutdown) it is
        ready."""
        return (
            self._leading
            and not self._params().nosm
            and (self.health.ready is True or not need_ready)
            and self.clock() >= self.health.refused_until
        )

    def refusal(self) -> tuple[int, float | None]:
        """How many states wait on a refusal, and for how many seconds the oldest has."""
        ledger = self._ledger
        since = ledger.refused_since()
        return ledger.refused_count, None if since is None else self.clock() - since

    def failed(self, patch: HsmPatch, *, error: str | None = None) -> None:
        """``patch`` did not get through: its states stay wanted and are sent again."""
        if error is not None:
            self.health.last_error = error
        self._ledger.settle(patch, delivered=False)

    def reconcile_names(self, tracked: Iterable[ComponentView]) -> list[str]:
        """The components reconciliation asks HSM about: ``tracked``, and remembered dead."""
        names = [view.xname for view in tracked]
        known = set(names)
        names.extend(x for x in self._ledger.dead() if x not in known)
        return names

    def reconciled(
        self, read: dict[str, HsmView | None], truth: Callable[[str], ComponentView | None]
    ) -> list[tuple[str, Kind]]:
        """HSM showed ``read``: take it as the picture and want what differs from ``truth``.

        ``truth`` is the tracker's record of a component, taken now, after the reads: a node
        that shut down or changed meanwhile is judged by what it is now (a changed one has its
        own change on the way); one untracked and last wanted dead is dead.
        """
        dead = self._ledger.dead()
        levels: dict[str, Kind] = {}
        for xname in read:
            view = truth(xname)
            if view is not None:
                levels[xname] = Kind.WARNING if view.state is HbState.WARNING else Kind.STARTED
            elif xname in dead:
                levels[xname] = Kind.DEAD
        corrected = self._ledger.reconcile(read, levels)
        if corrected:
            self._work.set()
        return corrected

    def reconcile_now(self) -> None:
        """Reconcile at once (after start, on taking the lead)."""
        self.reconcile_health.ask()
        self._reconcile_wakeup.set()

    def wake_reconciler(self) -> None:
        """Make the reconciler look at its schedule again (the interval changed)."""
        self._reconcile_wakeup.set()

    async def wait_reconcile(self, deadline: float) -> None:
        """Sleep until ``deadline`` or until a round is asked for."""
        with trio.move_on_at(deadline):
            await self._reconcile_wakeup.wait()
        self._reconcile_wakeup = trio.Event()

    def wake(self) -> None:
        """Tell the notifier that the ledger may have work."""
        self._work.set()

    async def wait_work(self, params_changed: trio.Event) -> None:
        """Sleep until the ledger may have new work or the parameters changed."""
        event = self._work
        async with trio.open_nursery() as nursery:
            for waited in (event, params_changed):

                async def wait_then_cancel(waited: trio.Event = waited) -> None:
                    await waited.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(wait_then_cancel)
        if event.is_set() and event is self._work:
            self._work = trio.Event()

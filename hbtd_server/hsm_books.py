"""The HSM books: what hbtd wants HSM to show, what it believes HSM shows, and HSM's health.

One object, :class:`HsmBooks`, is the notifier's and the reconciler's one counterpart: the
ledger (wanted states and the picture of HSM, ``core.HsmLedger``), HSM's health
(``HsmHealth``: readiness, PATCH outcomes, errors), the back-off of refusals, and
reconciliation's record (``ReconcileHealth``). The engine owns it (``Engine.books``) and asks it
whether sending is allowed with its own leadership on top. Runs on the trio thread: no locks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import trio

from .core import HsmLedger, HsmPatch, HsmView, Kind, Params, RefusalBackoff, plural
from .health import HsmHealth, ReconcileHealth

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
    """

    def __init__(self, params: Callable[[], Params], clock: Callable[[], float]) -> None:
        self._params = params
        self.clock = clock
        self.ledger = HsmLedger()
        self.health = HsmHealth()
        self.reconcile = ReconcileHealth()
        self._work = trio.Event()
        self._reconcile_wakeup = trio.Event()

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
        ledger, hsm = self.ledger, self.health
        ledger.settle(patch, delivered=True)
        hsm.patches_sent += 1
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
        self.ledger.refuse(patch, now=now, backoff=backoff, not_before=not_before)
        hsm.patches_failed += 1
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

    def may_send(self, *, need_ready: bool = True) -> bool:
        """Whether HSM may be sent to now, as far as HSM goes: Nosm off, HSM not refusing us,
        and (unless ``need_ready`` is false, as for the last flush on shutdown) HSM ready."""
        return (
            not self._params().nosm
            and (self.health.ready is True or not need_ready)
            and self.clock() >= self.health.refused_until
        )

    def refusal(self) -> tuple[int, float | None]:
        """How many states wait on a refusal, and for how many seconds the oldest has."""
        ledger = self.ledger
        since = ledger.refused_since()
        return ledger.refused_count, None if since is None else self.clock() - since

    def failed(self, patch: HsmPatch, *, error: str | None = None) -> None:
        """``patch`` did not get through: its states stay wanted and are sent again."""
        if error is not None:
            self.health.last_error = error
        self.health.patches_failed += 1
        self.ledger.settle(patch, delivered=False)

    def reconciled(
        self, read: dict[str, HsmView | None], levels: dict[str, Kind]
    ) -> list[tuple[str, Kind]]:
        """HSM showed ``read``: the ledger takes it as its picture and wants what differs."""
        corrected = self.ledger.reconcile(read, levels)
        if corrected:
            self._work.set()
        return corrected

    def reconcile_now(self) -> None:
        """Reconcile at once (after start, on taking the lead)."""
        self.reconcile.asked = True
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

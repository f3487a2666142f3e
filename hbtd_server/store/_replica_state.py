"""Leadership among replicas sharing a store: leading, following, or detached.

:class:`ReplicaState` is the one owner of this replica's role. Each change of role is one
method, and each says what happens then to detection (the engine's :class:`~hbtd_server.engine.
Duty`), to the HSM books (kept, loaded from the store, or dropped), to the change journal (HSM
entries journaled or not, deletions held) and to the role ``/health`` shows. The election
(``Replica``) decides *when*; this decides *what follows*. Without a store there is none of
this: the engine leads alone (role ``single``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..core import Kind
from ..engine import Duty, Engine

__all__ = ["ReplicaState"]


class ReplicaState:
    """Whether this replica leads, follows, or leads cut off from the store (detached).

    A new one leads (a single replica on its store) until told otherwise.

    Args:
        engine: the engine of this replica.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._leading = True
        self._detached = False
        engine.store_health.set_role("leader")

    @property
    def leading(self) -> bool:
        """Whether this replica runs detection and the notifiers."""
        return self._leading

    @property
    def detached(self) -> bool:
        """Whether this replica led, lost the store, and detects on its own meanwhile."""
        return self._detached

    def follow(self) -> None:
        """Start as a follower: another replica (or a later election) leads."""
        self._set(leading=False, detached=False, role="follower", duty=Duty.FOLLOW)

    def take_lead(
        self,
        entries: Mapping[str, tuple[Kind | None, Kind | None]] | None = None,
        *,
        wishes: Iterable[tuple[str, Kind]] = (),
    ) -> None:
        """Lead now, with new HSM books from the store's ``entries`` and then ``wishes``.

        The books' entries are journaled again once the store has loaded the records
        (``Persistence.restore``); reconciliation reads HSM back at once.
        """
        engine = self._engine
        engine.journal.keep_hsm(False)
        engine.books.replace(entries, wishes=wishes)
        self._set(leading=True, detached=False, role="leader", duty=Duty.LEAD)
        engine.books.reconcile_now()

    def lose_lead(self) -> None:
        """Another replica leads now: stop detecting and notifying, drop the HSM books."""
        engine = self._engine
        engine.journal.keep_hsm(False)
        self._forget_unwritten_deaths()
        engine.books.replace()
        self._set(leading=False, detached=False, role="follower", duty=Duty.FOLLOW)

    def detach(self) -> None:
        """The store is away and the lease may run out: stop notifying, keep detecting.

        Transitions keep going into the books as wanted states; nothing is sent to HSM and
        nothing of HSM's is written to the store until :meth:`take_lead` (after which the
        replica reconciles them against the store) or :meth:`lose_lead` (which drops them).
        """
        engine = self._engine
        engine.journal.keep_hsm(False)
        self._leading, self._detached = False, True
        engine.journal.hold_deletions(lambda xname: engine.view(xname) is not None)
        engine.store_health.set_role("detached")
        engine.set_duty(Duty.HOLD)

    def resign(self) -> None:
        """On shutdown: stop leading at once (the lease is given up next)."""
        self._leading, self._detached = False, False
        self._engine.journal.hold_deletions(None)
        self._engine.set_duty(Duty.FOLLOW)

    def _set(self, *, leading: bool, detached: bool, role: str, duty: Duty) -> None:
        self._leading, self._detached = leading, detached
        engine = self._engine
        engine.journal.hold_deletions(None)
        engine.store_health.set_role(role)
        engine.set_duty(duty)

    def _forget_unwritten_deaths(self) -> None:
        # Deleting a dead node's record is the leader's job, together with its "dead"; a
        # replica that does not lead must not delete it alone (the next leader judges the
        # node again, or this one reconciles its own result when it leads again).
        engine = self._engine
        engine.journal.forget_deletions(lambda xname: engine.view(xname) is not None)

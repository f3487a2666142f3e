"""The change journal: what changed since the store's last flush, in one place.

Two kinds of entries: a component's *record* (heard from, warned, dead or forgotten) and its
*HSM entry* in the books (wanted or acknowledged state). The engine owns the journal
(``Engine.journal``); the engine appends records, the HSM books append entries (the ledger's
change hook points here), and the store's write-behind drains both with :meth:`take` and puts
back what it failed to write. Without a store nothing drains it, so nothing is kept.

HSM entries are the leader's: they are kept only while :meth:`keep_hsm` is on (this replica
leads and has loaded the books). A replica cut off from the store keeps detecting but must
not delete a record alone (the death goes with its "dead", which only a leader writes), so
while deletions are held only records of components still tracked are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["ChangeJournal"]


class ChangeJournal:
    """Components whose record or HSM entry the store does not have yet."""

    def __init__(self) -> None:
        self._records: set[str] | None = None  # None: no store drains the journal
        self._hsm: set[str] = set()
        self._hsm_on = False
        self._tracked: Callable[[str], bool] | None = None  # set while deletions are held

    def open(self) -> None:
        """A store drains the journal from now on: start keeping records."""
        if self._records is None:
            self._records = set()

    def record(self, xname: str) -> None:
        """``xname``'s record changed (the heartbeat path: one set insertion at most)."""
        records = self._records
        if records is not None:
            records.add(xname)

    def records(self, xnames: Iterable[str]) -> None:
        """These components' records changed (a deletion is held back while detached)."""
        records = self._records
        if records is not None:
            tracked = self._tracked
            records.update(xnames if tracked is None else filter(tracked, xnames))

    def hsm(self, xname: str) -> None:
        """``xname``'s HSM entry changed (the ledger's change hook)."""
        if self._hsm_on:
            self._hsm.add(xname)

    def hsm_entries(self, xnames: Iterable[str]) -> None:
        """:meth:`hsm` for many components."""
        if self._hsm_on:
            self._hsm.update(xnames)

    def keep_hsm(self, on: bool) -> None:
        """Keep HSM entries from now on (leading), or stop and drop those not written."""
        self._hsm_on = on
        if not on:
            self._hsm.clear()

    def hold_deletions(self, tracked: Callable[[str], bool] | None) -> None:
        """While ``tracked`` is given (detached), keep only records it says are tracked, and
        drop the deletions already kept; None ends the hold (leading or following again)."""
        self._tracked = tracked
        records = self._records
        if tracked is not None and records:
            records.difference_update([x for x in records if not tracked(x)])

    def forget_deletions(self, tracked: Callable[[str], bool]) -> None:
        """Drop the deletions not written yet (on losing the lead: the next leader judges)."""
        records = self._records
        if records:
            records.difference_update([x for x in records if not tracked(x)])

    def has_record(self, xname: str) -> bool:
        """Whether ``xname``'s record has a change the store does not have yet."""
        return self._records is not None and xname in self._records

    def take(self) -> tuple[set[str], set[str]]:
        """The records and HSM entries changed since the last call (written now)."""
        records, hsm = self._records or set(), self._hsm
        if self._records is not None:
            self._records = set()
        self._hsm = set()
        return records, hsm

    def put_back(self, *, records: Iterable[str] = (), hsm: Iterable[str] = ()) -> None:
        """What a failed write had taken is changed still."""
        self.records(records)
        self._hsm.update(hsm)

    @property
    def pending(self) -> int:
        """Components with a record or an HSM entry the store does not have yet."""
        records = self._records or set()
        return len(records) + sum(1 for x in self._hsm if x not in records)

"""What HSM should show, what it has acknowledged, and the PATCHes that close the gap.

Level-triggered, like a Kubernetes controller: per component the ledger keeps the HSM state
the tracker *wants* and the one HSM *acknowledged*. A notifier repeatedly takes the difference
as a few bulk PATCHes and settles them. Latest-wins falls out for free, because only the newest
wanted state exists; and nothing is lost on a failure, because an unacknowledged state simply
stays in the difference. Sans-IO: the notifier that sends is elsewhere.

A round is ``take()`` then one ``settle()`` or ``refuse()`` per patch; rounds do not overlap,
so a component is never in two PATCHes at once and HSM cannot apply them out of order.

A state HSM *refuses* (a 4xx) is never forgotten: it stays wanted, held back until its
own retry time (a capped exponential backoff per component), and only a newer wanted state
replaces it. ``refused_count`` and ``refused_since`` say how many wait on a refusal, and since
when, for ``/health`` and the metrics.

HSM is not ours alone (power events, operators, discovery write it too), so what the ledger
believes HSM shows is a *picture*, not a fact: an acknowledged kind, or any State/Flag read
back by reconciliation. A 204 for a change HSM's start-state table would skip is no
acknowledgement (``hsm_outcome``), and :meth:`HsmLedger.reconcile` replaces the picture with
what was read and wants again whatever hbtd owns and HSM does not show (``asserted_change``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._hsm_table import HsmView, asserted_change, hsm_outcome, view_of
from ._states import Kind

__all__ = ["DEFAULT_MAX_IDS_PER_PATCH", "HsmLedger", "HsmPatch", "RefusalBackoff"]

#: Upstream sends a whole category in one PATCH; chunks keep a machine-wide wave's requests
#: (about 12,000 IDs) to a size HSM answers well inside Sm_timeout.
DEFAULT_MAX_IDS_PER_PATCH = 4000


#: Changes sent whatever the ledger believes HSM shows: a node that beats is Ready again.
_EDGES = frozenset({Kind.STARTED, Kind.RESTARTED})
#: The kinds a read-back picture maps to, by their State and Flag (restarted is started's).
_LEVELS = (Kind.STARTED, Kind.WARNING, Kind.DEAD)


@dataclass(frozen=True, slots=True)
class HsmPatch:
    """One ``PATCH {Sm_url}/State/Components/BulkStateData``."""

    kind: Kind
    xnames: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.xnames:
            raise ValueError("an HSM patch needs at least one component")

    def body(self) -> dict[str, Any]:
        """Upstream's request body, byte for byte in key order."""
        target = self.kind.hsm
        return {
            "ComponentIDs": list(self.xnames),
            "State": target.state,
            "Flag": target.flag,
            "ExtendedInfo": {"ID": "", "Message": target.message, "Flag": ""},
        }

    def split(self) -> tuple[HsmPatch, HsmPatch]:
        """Two halves, to find which IDs HSM refuses when it rejects a whole batch."""
        if len(self.xnames) < 2:
            raise ValueError("cannot split a single-component patch")
        middle = len(self.xnames) // 2
        return HsmPatch(self.kind, self.xnames[:middle]), HsmPatch(self.kind, self.xnames[middle:])


@dataclass(frozen=True, slots=True)
class RefusalBackoff:
    """How long a refused state waits before it is sent again.

    Attributes:
        first: seconds before the first retry.
        cap: the longest wait, however often it was refused.
    """

    first: float
    cap: float

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap:
            raise ValueError(f"need 0 < first <= cap, got {self.first} and {self.cap}")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th refusal in a row (1, 2, ...)."""
        return min(self.first * 2.0 ** min(max(attempts - 1, 0), 30), self.cap)


@dataclass(slots=True)
class _Refusal:
    kind: Kind  # the refused state; a different wish ends the refusal
    since: float  # when it was first refused
    attempts: int  # refusals in a row


class HsmLedger:
    """Wanted and acknowledged HSM states per component.

    Args:
        max_ids_per_patch: the most component IDs one PATCH carries.
    """

    def __init__(self, *, max_ids_per_patch: int = DEFAULT_MAX_IDS_PER_PATCH) -> None:
        if max_ids_per_patch < 1:
            raise ValueError("max_ids_per_patch must be positive")
        self._max_ids = max_ids_per_patch
        self._pending: dict[str, Kind] = {}
        self._in_flight: dict[str, Kind] = {}
        self._acked: dict[str, Kind] = {}
        # Refused states waiting for their retry time (never also in _pending), and the
        # refusal history of every state not yet acknowledged since a refusal.
        self._held: dict[str, tuple[Kind, float]] = {}
        self._refusals: dict[str, _Refusal] = {}
        # The picture of HSM when it is none of our kinds (Off, On, Locked, ... as read back);
        # a component is in at most one of _acked and _shown.
        self._shown: dict[str, HsmView] = {}
        # Components last wanted dead: untracked, but reconciliation still asserts their death.
        self._dead: set[str] = set()
        #: 204s for changes HSM's table skipped (no acknowledgement), since start.
        self.skipped_total = 0
        #: Called with a component's name whenever its wanted or acknowledged state may have
        #: changed, so a persistent store can write it back. Must not raise.
        self.on_change: Callable[[str], None] | None = None

    def want(self, xname: str, kind: Kind) -> None:
        """Record that HSM should show ``kind`` for ``xname``; it replaces any older wish.

        A *started* or *restarted* change is an edge: it is sent whatever the ledger believes
        HSM shows, because HSM has other writers (power events, operators, discovery) and a
        node that beats again after a power cycle must be Ready again. A *warning* or *dead*
        that HSM acknowledged already is not sent twice.

        The same state wanted again while it waits on a refusal keeps waiting (its backoff
        runs on); a different one replaces it and is sent at once.
        """
        self._want(xname, kind, edge=kind in _EDGES)

    def _want(self, xname: str, kind: Kind, *, edge: bool) -> None:
        if kind is Kind.DEAD:
            self._dead.add(xname)
        else:
            self._dead.discard(xname)
        held = self._held.get(xname)
        if held is not None:
            if held[0] is kind:
                return
            del self._held[xname]
        refusal = self._refusals.get(xname)
        if refusal is not None and refusal.kind is not kind:
            del self._refusals[xname]
        if not edge and xname not in self._in_flight and self._acked.get(xname) is kind:
            self._pending.pop(xname, None)  # HSM already shows it: nothing to send
            self._refusals.pop(xname, None)
        else:
            self._pending[xname] = kind
        if self.on_change is not None:
            self.on_change(xname)

    def forget(self, xname: str) -> None:
        """The tracker forgot ``xname`` (a Shutdown, or dropped after dead): drop what the
        ledger believed HSM showed for it. A wish not yet delivered stays wanted."""
        self._shown.pop(xname, None)
        self._dead.discard(xname)
        if self._acked.pop(xname, None) is not None and self.on_change is not None:
            self.on_change(xname)

    def picture(self, xname: str) -> HsmView | None:
        """What the ledger believes HSM shows for ``xname`` (None: it does not know)."""
        shown = self._shown.get(xname)
        if shown is not None:
            return shown
        acked = self._acked.get(xname)
        return None if acked is None else view_of(acked)

    def _set_picture(self, xname: str, view: HsmView, kind: Kind | None = None) -> None:
        acked = self._acked.get(xname) if kind is None else kind
        if acked is None or view_of(acked) != view:
            acked = next((k for k in _LEVELS if view_of(k) == view), None)
        if acked is None:
            self._acked.pop(xname, None)
            self._shown[xname] = view
        else:
            self._acked[xname] = acked
            self._shown.pop(xname, None)

    def dead(self) -> set[str]:
        """The components last wanted dead (and not heard from since)."""
        return set(self._dead)

    def busy(self, xname: str) -> bool:
        """Whether a change for ``xname`` is pending, in flight or held after a refusal."""
        return xname in self._pending or xname in self._in_flight or xname in self._held

    def reconcile(
        self, read: Mapping[str, HsmView | None], levels: Mapping[str, Kind]
    ) -> list[tuple[str, Kind]]:
        """Take what HSM showed as the picture, and want what hbtd owns and HSM does not show.

        Args:
            read: the State and Flag HSM returned per component asked for; None for one HSM
                does not know (it is never created).
            levels: the heartbeat truth per component (STARTED or RESTARTED for a beating
                node, WARNING, DEAD).

        Returns:
            The corrections wanted now, ``(xname, kind)``. A component with a change on its
            way is skipped: the read may be older than the change.
        """
        corrected: list[tuple[str, Kind]] = []
        for xname, view in read.items():
            if self.busy(xname):
                continue
            if view is None:
                self._shown.pop(xname, None)
                self._acked.pop(xname, None)
                continue
            self._set_picture(xname, view)
            level = levels.get(xname)
            if level is None:
                continue
            fix = asserted_change(level, view)
            if fix is not None:
                self._want(xname, fix, edge=True)
                corrected.append((xname, fix))
        return corrected

    def want_all(self, wishes: Iterable[tuple[str, Kind]]) -> None:
        """:meth:`want` for many components."""
        for xname, kind in wishes:
            self.want(xname, kind)

    @property
    def pending_count(self) -> int:
        """Components whose wanted state HSM has not acknowledged (in flight and held included)."""
        in_flight_only = sum(1 for x in self._in_flight if x not in self._pending)
        return len(self._pending) + len(self._held) + in_flight_only

    @property
    def outstanding(self) -> int:
        """An O(1) upper bound of :attr:`pending_count` (a component may be counted twice)."""
        return len(self._pending) + len(self._held) + len(self._in_flight)

    @property
    def refused_count(self) -> int:
        """Components whose wanted state HSM refused and has not acknowledged since."""
        return len(self._refusals)

    def refused_since(self) -> float | None:
        """When the oldest refusal still unresolved began, or None when there is none."""
        return min((r.since for r in self._refusals.values()), default=None)

    def has_work(self, now: float | None = None) -> bool:
        """Whether :meth:`take` would return anything (held states count once due at ``now``)."""
        if self._pending:
            return True
        return now is not None and any(at <= now for _, at in self._held.values())

    def next_retry(self) -> float | None:
        """The earliest time a held, refused state is due again, or None."""
        return min((at for _, at in self._held.values()), default=None)

    def take(self, now: float | None = None) -> list[HsmPatch]:
        """Every pending state, grouped by kind into as few PATCHes as the chunk size allows.

        Args:
            now: held (refused) states due by then are taken too; None takes none of them.

        The components taken are in flight until :meth:`settle` or :meth:`refuse`.
        """
        if now is not None and self._held:
            due = [x for x, (_, at) in self._held.items() if at <= now]
            for xname in due:
                self._pending[xname] = self._held.pop(xname)[0]
        groups: dict[Kind, list[str]] = {}
        for xname, kind in self._pending.items():
            groups.setdefault(kind, []).append(xname)
        self._in_flight.update(self._pending)
        self._pending = {}
        patches = []
        for kind in Kind:
            xnames = groups.get(kind, [])
            for start in range(0, len(xnames), self._max_ids):
                patches.append(HsmPatch(kind, tuple(xnames[start : start + self._max_ids])))
        return patches

    def narrow(self, patch: HsmPatch) -> HsmPatch | None:
        """What of ``patch`` is still worth sending: the components no newer wish replaced.

        Called before every attempt (a retry, a half of a refused batch): a node that changed
        while its patch waited has its newer state pending already, and resending the old one
        would show HSM a state the node has left, after the one it is in. The replaced
        components are no longer in flight.

        Returns:
            ``patch`` itself when nothing was replaced, a smaller patch, or None.
        """
        keep = []
        for xname in patch.xnames:
            sent = self._in_flight.get(xname)
            newer = self._pending.get(xname)
            if sent is not None and newer is not None and newer is not sent:
                del self._in_flight[xname]
            else:
                keep.append(xname)
        if len(keep) == len(patch.xnames):
            return patch
        return HsmPatch(patch.kind, tuple(keep)) if keep else None

    def settle(self, patch: HsmPatch, *, delivered: bool) -> None:
        """Record the outcome of a PATCH.

        Args:
            patch: a patch from :meth:`take`.
            delivered: HSM accepted it (200, 202 or 204). Otherwise its states stay wanted,
                unless a newer wish replaced them meanwhile.
        """
        on_change = self.on_change
        for xname in patch.xnames:
            sent = self._in_flight.pop(xname, None)
            if sent is None:
                continue
            if delivered:
                refusal = self._refusals.get(xname)
                if refusal is not None and refusal.kind is sent:
                    del self._refusals[xname]
                if self._pending.get(xname) is sent:
                    del self._pending[xname]
                before = self.picture(xname)
                after = view_of(sent) if before is None else hsm_outcome(before, sent)
                if after is None:
                    # HSM's table skipped it: the 204 changed nothing. Not resent (HSM would
                    # skip it again); reconciliation reads HSM back and decides.
                    self.skipped_total += 1
                    continue
                self._set_picture(xname, after, sent)
                if on_change is not None:
                    on_change(xname)
            else:
                self._pending.setdefault(xname, sent)

    def refuse(
        self,
        patch: HsmPatch,
        *,
        now: float,
        backoff: RefusalBackoff,
        not_before: float = -math.inf,
    ) -> None:
        """HSM refused ``patch`` (a 4xx): hold its states back, wanted still, and retry later.

        Each component waits ``backoff.delay(n)`` after its ``n``-th refusal in a row, and at
        least until ``not_before`` (HSM refusing everything: the notifier's own backoff).
        A newer wish that came while the patch was in flight is pending already: it goes next.

        Args:
            patch: a patch from :meth:`take`.
            now: when HSM answered.
            backoff: the per-component backoff.
            not_before: no retry before this time.
        """
        for xname in patch.xnames:
            sent = self._in_flight.pop(xname, None)
            if sent is None:
                continue
            newer = self._pending.get(xname)
            if newer is not None and newer is not sent:
                continue
            self._pending.pop(xname, None)
            refusal = self._refusals.get(xname)
            if refusal is None or refusal.kind is not sent:
                refusal = self._refusals[xname] = _Refusal(sent, now, 0)
            refusal.attempts += 1
            self._held[xname] = (sent, max(now + backoff.delay(refusal.attempts), not_before))

    def wanted(self, xname: str) -> Kind | None:
        """The newest state not yet acknowledged for ``xname``, if any."""
        pending = self._pending.get(xname)
        if pending is not None:
            return pending
        held = self._held.get(xname)
        return held[0] if held is not None else self._in_flight.get(xname)

    def export(self, xname: str) -> tuple[Kind | None, Kind | None]:
        """``(wanted, acknowledged)`` for ``xname``: what a persistent store keeps.

        A refused state is still wanted, so it is persisted and resent like any other.
        """
        return self.wanted(xname), self._acked.get(xname)

    def exported(self) -> Iterable[str]:
        """Every component the ledger knows anything about."""
        return {*self._acked, *self._pending, *self._held, *self._in_flight}

    def wishes(self) -> list[tuple[str, Kind]]:
        """Every wanted state not acknowledged yet (pending, held or in flight)."""
        names = {*self._pending, *self._held, *self._in_flight}
        return [(x, kind) for x in names if (kind := self.wanted(x)) is not None]

    def restore(self, entries: Mapping[str, tuple[Kind | None, Kind | None]]) -> None:
        """Load ``(wanted, acknowledged)`` pairs saved by :meth:`export`, e.g. after a restart.

        Whatever was wanted and not acknowledged is pending again, so it is resent.
        """
        for xname, (wanted, acked) in entries.items():
            self._shown.pop(xname, None)
            if acked is not None:
                self._acked[xname] = acked
            else:
                self._acked.pop(xname, None)
            if (wanted or acked) is Kind.DEAD:
                self._dead.add(xname)
            if wanted is not None:
                # What was saved is a level, not a new edge: an acknowledged one stays quiet.
                self._want(xname, wanted, edge=False)

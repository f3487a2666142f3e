"""What HSM should show, what it has acknowledged, and the PATCHes that close the gap.

Level-triggered, like a Kubernetes controller: per component the ledger keeps the HSM state
the tracker *wants* and the one HSM *acknowledged*. A notifier repeatedly takes the difference
as a few bulk PATCHes and settles them. Latest-wins falls out for free, because only the newest
wanted state exists; and nothing is lost on a failure, because an unacknowledged state simply
stays in the difference. Sans-IO: the notifier that sends is elsewhere.

A round is ``take()`` then one ``settle()`` per patch; rounds do not overlap, so a component is
never in two PATCHes at once and HSM cannot apply them out of order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._states import Kind

__all__ = ["DEFAULT_MAX_IDS_PER_PATCH", "HsmLedger", "HsmPatch"]

#: Upstream sends a whole category in one PATCH; chunks keep a machine-wide wave's requests
#: (about 12,000 IDs) to a size HSM answers well inside Sm_timeout.
DEFAULT_MAX_IDS_PER_PATCH = 4000


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
        self.rejected_total = 0
        #: Called with a component's name whenever its wanted or acknowledged state may have
        #: changed, so a persistent store can write it back (#7). Must not raise.
        self.on_change: Callable[[str], None] | None = None

    def want(self, xname: str, kind: Kind) -> None:
        """Record that HSM should show ``kind`` for ``xname``; it replaces any older wish."""
        if xname not in self._in_flight and self._acked.get(xname) is kind:
            self._pending.pop(xname, None)  # HSM already shows it: nothing to send
        else:
            self._pending[xname] = kind
        if self.on_change is not None:
            self.on_change(xname)

    def want_all(self, wishes: Iterable[tuple[str, Kind]]) -> None:
        """:meth:`want` for many components."""
        for xname, kind in wishes:
            self.want(xname, kind)

    @property
    def pending_count(self) -> int:
        """Components whose wanted state HSM has not acknowledged (in flight included)."""
        return len(self._pending) + sum(1 for x in self._in_flight if x not in self._pending)

    def has_work(self) -> bool:
        """Whether :meth:`take` would return anything."""
        return bool(self._pending)

    def take(self) -> list[HsmPatch]:
        """Every pending state, grouped by kind into as few PATCHes as the chunk size allows.

        The components taken are in flight until :meth:`settle` or :meth:`reject`.
        """
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
                self._acked[xname] = sent
                if self._pending.get(xname) is sent:
                    del self._pending[xname]
                if on_change is not None:
                    on_change(xname)
            else:
                self._pending.setdefault(xname, sent)

    def reject(self, patch: HsmPatch) -> None:
        """HSM refused these components for good (a 4xx for them alone): stop sending them."""
        for xname in patch.xnames:
            if self._in_flight.pop(xname, None) is not None:
                self.rejected_total += 1
                if self.on_change is not None:
                    self.on_change(xname)

    def acked(self, xname: str) -> Kind | None:
        """The last state HSM acknowledged for ``xname``, if any."""
        return self._acked.get(xname)

    def wanted(self, xname: str) -> Kind | None:
        """The newest state not yet acknowledged for ``xname``, if any."""
        return self._pending.get(xname) or self._in_flight.get(xname)

    def export(self, xname: str) -> tuple[Kind | None, Kind | None]:
        """``(wanted, acknowledged)`` for ``xname``: what a persistent store keeps (#7).

        A state refused for good (:meth:`reject`) is no longer wanted.
        """
        return self.wanted(xname), self._acked.get(xname)

    def exported(self) -> Iterable[str]:
        """Every component the ledger knows anything about."""
        return {*self._acked, *self._pending, *self._in_flight}

    def restore(self, entries: Mapping[str, tuple[Kind | None, Kind | None]]) -> None:
        """Load ``(wanted, acknowledged)`` pairs saved by :meth:`export`, e.g. after a restart.

        Whatever was wanted and not acknowledged is pending again, so it is resent (#7).
        """
        for xname, (wanted, acked) in entries.items():
            if acked is not None:
                self._acked[xname] = acked
            else:
                self._acked.pop(xname, None)
            if wanted is not None:
                self.want(xname, wanted)

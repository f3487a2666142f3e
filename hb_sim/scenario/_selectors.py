"""Target selectors: which nodes of the fleet an event or an expectation is about.

A selector is a frozen description; ``Selection`` resolves it against one fleet and one seed.
Every result is a tuple in fleet order, so runs and reports are reproducible. Random draws use
a generator seeded with the scenario seed and the selector's ``salt`` (its name, else its
place in the file), so the same scenario and seed always pick the same nodes, and two random
selectors do not pick the same nodes by construction.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AllNodes",
    "Cabinets",
    "Except",
    "Glob",
    "Named",
    "RandomNodes",
    "Ref",
    "Selection",
    "Selector",
    "Union",
    "XnameSet",
]


@dataclass(frozen=True, slots=True)
class AllNodes:
    """Every node of the fleet."""

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return "all nodes"


@dataclass(frozen=True, slots=True)
class XnameSet:
    """Named nodes: an explicit list or an expanded range pattern (normalized names).

    Attributes:
        xnames: the names; those not in the fleet select nothing.
        label: how the scenario wrote it, for reports.
    """

    xnames: frozenset[str]
    label: str

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return self.label


@dataclass(frozen=True, slots=True)
class Glob:
    """Nodes whose xname matches a shell-style pattern (``x1000c0s*b0n*``)."""

    pattern: str

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return f"glob {self.pattern}"


@dataclass(frozen=True, slots=True)
class Cabinets:
    """Every node in the given cabinets (``x1000``)."""

    cabinets: tuple[str, ...]

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return "cabinet " + ", ".join(self.cabinets)


@dataclass(frozen=True, slots=True)
class RandomNodes:
    """``count`` nodes drawn at random, without replacement, from ``within``.

    Attributes:
        count: how many nodes; when ``fraction`` is set it is recomputed from the pool.
        fraction: a share of the pool (``10%`` -> 0.1) instead of a count, else None.
        within: the pool, or None for the whole fleet.
        salt: mixed with the scenario seed; the selector's name or place in the file.
    """

    count: int
    fraction: float | None
    within: Selector | None
    salt: str

    def describe(self) -> str:
        """Return a short human description, for reports."""
        what = f"{self.fraction:.0%}" if self.fraction is not None else str(self.count)
        pool = f" of {self.within.describe()}" if self.within is not None else ""
        return f"{what} random nodes{pool}"


@dataclass(frozen=True, slots=True)
class Ref:
    """The nodes of a selector named earlier in the scenario."""

    name: str

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return f"set {self.name!r}"


@dataclass(frozen=True, slots=True)
class Named:
    """A selector that also defines a name others can ``ref``."""

    name: str
    selector: Selector

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return f"{self.selector.describe()} (as {self.name!r})"


@dataclass(frozen=True, slots=True)
class Union:
    """The nodes selected by any of ``parts`` (a YAML list of selectors)."""

    parts: tuple[Selector, ...]

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return " + ".join(part.describe() for part in self.parts)


@dataclass(frozen=True, slots=True)
class Except:
    """The nodes of ``base`` that ``minus`` does not select."""

    base: Selector
    minus: Selector

    def describe(self) -> str:
        """Return a short human description, for reports."""
        return f"{self.base.describe()} except {self.minus.describe()}"


Selector = AllNodes | XnameSet | Glob | Cabinets | RandomNodes | Ref | Named | Union | Except


class Selection:
    """Resolves selectors against one fleet and seed, caching named sets.

    Args:
        nodes: the fleet, in order (normalized xnames, no duplicates).
        seed: the scenario seed.
        named: every named selector of the scenario, by name.
    """

    def __init__(self, nodes: Sequence[str], seed: int, named: Mapping[str, Selector]) -> None:
        self.nodes = tuple(nodes)
        self._seed = seed
        self._named = named
        self._index = {name: i for i, name in enumerate(self.nodes)}
        self._cache: dict[str, frozenset[str]] = {}

    def resolve(self, selector: Selector) -> tuple[str, ...]:
        """Return the fleet nodes ``selector`` picks, in fleet order.

        Raises:
            KeyError: a ``Ref`` names no selector.
        """
        chosen = self._pick(selector)
        return tuple(sorted(chosen, key=self._index.__getitem__))

    def _pick(self, selector: Selector) -> frozenset[str]:
        match selector:
            case AllNodes():
                return frozenset(self.nodes)
            case XnameSet(xnames=xnames):
                return frozenset(name for name in xnames if name in self._index)
            case Glob(pattern=pattern):
                return frozenset(n for n in self.nodes if fnmatch.fnmatchcase(n, pattern))
            case Cabinets(cabinets=cabinets):
                prefixes = tuple(cab + "c" for cab in cabinets)
                return frozenset(n for n in self.nodes if n.startswith(prefixes))
            case RandomNodes():
                pool = self.resolve(selector.within) if selector.within else self.nodes
                count = selector.count
                if selector.fraction is not None:
                    count = round(len(pool) * selector.fraction)
                rng = random.Random(f"{self._seed}/{selector.salt}")
                return frozenset(rng.sample(pool, min(count, len(pool))))
            case Ref(name=name):
                return self._named_set(name)
            case Named(name=name):
                return self._named_set(name)
            case Union(parts=parts):
                return frozenset().union(*(self._pick(part) for part in parts))
            case Except(base=base, minus=minus):
                return self._pick(base) - self._pick(minus)
        raise TypeError(f"not a selector: {selector!r}")  # pragma: no cover

    def _named_set(self, name: str) -> frozenset[str]:
        if name not in self._cache:
            found = self._named[name]
            inner = found.selector if isinstance(found, Named) else found
            self._cache[name] = self._pick(inner)
        return self._cache[name]

"""Reading ``fleet`` and ``agents``: the nodes and how their agents beat."""

from __future__ import annotations

from yaml.nodes import Node, ScalarNode

from hbtd_server.core import is_node, verify_normalize

from ..xnames import cabinet_of, expand_range, topology_xnames
from ._durations import format_duration
from ._model import (
    AgentTiming,
    Fleet,
)
from ._read_base import MAX_FLEET, _BaseReader

__all__ = ["_FleetReader"]


class _FleetReader(_BaseReader):
    """Reading ``fleet`` and ``agents``: the nodes and how their agents beat."""

    # -- fleet -------------------------------------------------------------------------

    def read_fleet(self, node: Node) -> Fleet:
        pairs = self.mapping(node, "fleet", ("ranges", "topology", "limit"))
        names: list[str] = []
        if pairs is not None:
            if ("ranges" in pairs) == ("topology" in pairs):
                self.error(node, "fleet", "expected exactly one of ranges and topology")
            if "ranges" in pairs:
                names = self.read_ranges(pairs["ranges"][1])
            elif "topology" in pairs:
                names = self.read_topology(pairs["topology"][1])
        unique = list(dict.fromkeys(names))
        if pairs is not None and "limit" in pairs:
            limit = self.integer(pairs["limit"][1], "fleet.limit", minimum=1)
            if limit is not None:
                unique = unique[:limit]
        if len(unique) > MAX_FLEET:
            self.error(node, "fleet", f"{len(unique)} nodes is more than the {MAX_FLEET} allowed")
            unique = unique[:MAX_FLEET]
        if not unique and pairs is not None and not self.issues:
            self.error(node, "fleet", "the fleet has no node")
        cabinets = dict.fromkeys(cab for cab in map(cabinet_of, unique) if cab is not None)
        self.fleet = tuple(unique)
        self.fleet_set = frozenset(unique)
        self.cabinets = frozenset(cabinets)
        return Fleet(nodes=self.fleet, cabinets=tuple(cabinets))

    def read_ranges(self, node: Node) -> list[str]:
        items = (
            [node]
            if isinstance(node, ScalarNode)
            else self.sequence(node, "fleet.ranges", "range patterns")
        )
        names: list[str] = []
        for i, item in enumerate(items or ()):
            field = "fleet.ranges" if item is node else f"fleet.ranges[{i}]"
            pattern = self.text(item, field, "a range pattern such as x1000c[0-7]s[0-7]b0n[0-1]")
            if pattern is None:
                continue
            expanded = self.expand_nodes(pattern, item, field)
            if expanded is not None:
                names.extend(expanded)
        return names

    def expand_nodes(self, pattern: str, node: Node, field: str) -> list[str] | None:
        try:
            raw_names = expand_range(pattern)
        except ValueError as exc:
            self.error(node, field, str(exc))
            return None
        names: list[str] = []
        for raw in raw_names:
            name = verify_normalize(raw)
            if name is None or not is_node(name):
                self.error(
                    node,
                    field,
                    f"expected node xnames such as x1000c0s0b0n0, but {pattern!r} gives {raw!r}",
                )
                return None
            names.append(name)
        return names

    def read_topology(self, node: Node) -> list[str]:
        field = "fleet.topology"
        keys = ("cabinets", "first_cabinet", "chassis", "slots", "boards", "nodes")
        pairs = self.mapping(node, field, keys, required=("cabinets",))
        if pairs is None:
            return []

        def count(key: str, default: int, minimum: int = 1) -> int:
            return self.get(
                pairs, key, field, lambda n, f: self.integer(n, f, minimum=minimum), default
            )

        cabinets = count("cabinets", 0)
        first = count("first_cabinet", 1000, 0)
        chassis = count("chassis", 8)
        slots = count("slots", 8)
        boards = count("boards", 2)
        nodes = count("nodes", 2)
        if chassis > 8:
            self.error(
                pairs["chassis"][1],
                f"{field}.chassis",
                f"expected at most 8 (xnames have chassis c0-c7), got {chassis}",
            )
            return []
        if cabinets and first + cabinets - 1 > 9999:
            self.error(node, field, f"cabinets x{first}..x{first + cabinets - 1} go past x9999")
            return []
        total = cabinets * chassis * slots * boards * nodes
        if total > MAX_FLEET:
            self.error(node, field, f"{total} nodes is more than the {MAX_FLEET} allowed")
            return []
        return list(
            topology_xnames(
                cabinets=cabinets,
                first_cabinet=first,
                chassis=chassis,
                slots=slots,
                boards=boards,
                nodes=nodes,
            )
        )

    # -- sections ----------------------------------------------------------------------

    def read_agents(self, node: Node | None) -> AgentTiming:
        if node is None:
            return AgentTiming()
        keys = ("interval", "jitter", "start_spread", "status", "route")
        pairs = self.mapping(node, "agents", keys)
        if pairs is None:
            return AgentTiming()
        interval = self.get(
            pairs, "interval", "agents", lambda n, f: self.duration(n, f, positive=True), 3.0
        )
        jitter = self.get(pairs, "jitter", "agents", self.duration, 0.0)
        if jitter >= interval:
            self.error(
                pairs["jitter"][1],
                "agents.jitter",
                f"expected less than the interval ({format_duration(interval)}), "
                f"got {format_duration(jitter)}",
            )
            jitter = 0.0  # reported; carry on with a value the model accepts
        spread = self.get(pairs, "start_spread", "agents", self.duration, interval)
        status = self.get(pairs, "status", "agents", self.text, "OK")
        route = self.get(
            pairs, "route", "agents", lambda n, f: self.choice(n, f, ("full", "xname")), "full"
        )
        return AgentTiming(
            interval=interval,
            jitter=jitter,
            start_spread=spread,
            status=status,
            route="xname" if route == "xname" else "full",
        )

    def choice(self, node: Node, field: str, options: tuple[str, ...]) -> str | None:
        raw = self.text(node, field, "one of " + ", ".join(options))
        if raw is None:
            return None
        if raw.lower() not in options:
            self.error(node, field, f"expected one of {', '.join(options)}, got {raw!r}")
            return None
        return raw.lower()

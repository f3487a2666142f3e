"""Reading node selectors: names, globs, ranges, cabinets, random draws and references."""

from __future__ import annotations

from yaml.nodes import Node, ScalarNode, SequenceNode

from hbtd_server.core import hms_type, is_node, verify_normalize

from ._read_base import _NAME_RE, _SELECTOR_HINT, _SELECTOR_KEYS, _SELECTOR_KINDS, _Pairs
from ._read_fleet import _FleetReader
from ._selectors import (
    AllNodes,
    Cabinets,
    Except,
    Glob,
    Named,
    RandomNodes,
    Ref,
    Selector,
    Union,
    XnameSet,
)

__all__ = ["_SelectorReader"]


class _SelectorReader(_FleetReader):
    """Reading node selectors: names, globs, ranges, cabinets, random draws and references."""

    # -- selectors ---------------------------------------------------------------------

    def selector(self, node: Node, field: str, *, top: bool = False) -> Selector | None:
        """Read a selector; ``top`` ones are checked to select at least one fleet node."""
        result: Selector | None
        if isinstance(node, ScalarNode):
            result = self.pattern_selector(node, field)
        elif isinstance(node, SequenceNode):
            if not node.value:
                self.expected(node, field, _SELECTOR_HINT)
                return None
            parts = [self.selector(item, f"{field}[{i}]") for i, item in enumerate(node.value)]
            result = Union(tuple(p for p in parts if p is not None))
            if len(result.parts) != len(parts):
                result = None
        else:
            result = self.mapping_selector(node, field)
        if result is not None and top:
            self.to_check.append((result, node, field))
        return result

    def pattern_selector(self, node: ScalarNode, field: str) -> Selector | None:
        value = self.text(node, field, _SELECTOR_HINT)
        if value is None:
            return None
        if value.lower() == "all":
            return AllNodes()
        if "*" in value or "?" in value:
            return Glob(value.lower())
        if "[" not in value:
            name = verify_normalize(value)
            if name is not None and hms_type(name) == "Cabinet":
                return self.cabinet_selector([(name, node)], field)
        names = self.expand_nodes(value, node, field)
        return None if names is None else XnameSet(frozenset(names), value)

    def cabinet_selector(self, items: list[tuple[str, Node]], field: str) -> Selector | None:
        cabinets: list[str] = []
        for raw, node in items:
            name = verify_normalize(raw if raw.lower().startswith("x") else f"x{raw}")
            if name is None or hms_type(name) != "Cabinet":
                self.error(node, field, f"expected a cabinet such as x1000, got {raw!r}")
                return None
            if name not in self.cabinets:
                self.error(node, field, f"cabinet {name} is not in the fleet")
                return None
            cabinets.append(name)
        return Cabinets(tuple(cabinets))

    def mapping_selector(self, node: Node, field: str) -> Selector | None:
        pairs = self.mapping(node, field, _SELECTOR_KEYS)
        if pairs is None:
            return None
        kind = self.only_one(node, field, pairs, _SELECTOR_KINDS)
        if kind is None:
            return None
        value = pairs[kind][1]
        where = f"{field}.{kind}"
        if "within" in pairs and kind != "random":
            self.error(pairs["within"][0], f"{field}.within", "only goes with random")
            return None
        base: Selector | None
        if kind == "all":
            base = AllNodes() if self.boolean(value, where) else None
            if base is None and isinstance(value, ScalarNode) and value.value == "false":
                self.error(value, where, "all: false selects nothing; leave the selector out")
        elif kind == "xnames":
            base = self.xnames_selector(value, where)
        elif kind == "glob":
            pattern = self.text(value, where, "a glob pattern such as x1000c0s*b0n0")
            base = None if pattern is None else Glob(pattern.lower())
        elif kind == "range":
            pattern = self.text(value, where, "a range pattern such as x1000c0s[0-3]b0n[0-1]")
            names = None if pattern is None else self.expand_nodes(pattern, value, where)
            base = None if names is None or pattern is None else XnameSet(frozenset(names), pattern)
        elif kind == "cabinet":
            items = (
                [value]
                if isinstance(value, ScalarNode)
                else (self.sequence(value, where, "cabinets") or [])
            )
            texts = [(self.text(item, where, "a cabinet such as x1000"), item) for item in items]
            if not items or any(raw is None for raw, _ in texts):
                if not items:
                    self.expected(value, where, "a cabinet or a list of cabinets")
                return None
            base = self.cabinet_selector([(raw, item) for raw, item in texts if raw], where)
        elif kind == "random":
            base = self.random_selector(pairs, value, field, where)
        else:  # ref
            name = self.text(value, where, "the name of a selector defined earlier")
            base = None
            if name is not None:
                if name not in self.named:
                    defined = ", ".join(sorted(self.named)) or "none"
                    self.error(
                        value,
                        where,
                        f"no selector named {name!r} is defined before "
                        f"this point (defined: {defined})",
                    )
                else:
                    base = Ref(name)
        if base is None:
            return None
        if "except" in pairs:
            minus = self.selector(pairs["except"][1], f"{field}.except")
            if minus is None:
                return None
            base = Except(base, minus)
        if "name" in pairs:
            name_node = pairs["name"][1]
            name = self.text(name_node, f"{field}.name", "a name")
            if name is None:
                return None
            if not _NAME_RE.fullmatch(name):
                self.error(
                    name_node,
                    f"{field}.name",
                    f"expected letters, digits, '_', '.' or '-', got {name!r}",
                )
                return None
            if name in self.named:
                self.error(name_node, f"{field}.name", f"the name {name!r} is already used")
                return None
            base = Named(name, base)
            self.named[name] = base
        return base

    def xnames_selector(self, node: Node, field: str) -> Selector | None:
        items = [node] if isinstance(node, ScalarNode) else self.sequence(node, field, "xnames")
        if not items:
            if items is not None:
                self.expected(node, field, "a non-empty list of xnames")
            return None
        names: list[str] = []
        for i, item in enumerate(items):
            where = field if item is node else f"{field}[{i}]"
            raw = self.text(item, where, "a node xname")
            if raw is None:
                return None
            name = verify_normalize(raw)
            if name is None or not is_node(name):
                self.error(item, where, f"expected a node xname such as x1000c0s0b0n0, got {raw!r}")
                return None
            if name not in self.fleet_set:
                self.error(item, where, f"{name} is not in the fleet")
                return None
            names.append(name)
        return XnameSet(frozenset(names), ", ".join(names))

    def random_selector(
        self, pairs: _Pairs, value: Node, field: str, where: str
    ) -> Selector | None:
        raw = value.value if isinstance(value, ScalarNode) else None
        count, fraction = 0, None
        if isinstance(raw, str) and raw.strip().endswith("%"):
            try:
                fraction = float(raw.strip()[:-1]) / 100.0
            except ValueError:
                fraction = -1.0
            if not 0.0 < fraction <= 1.0:
                self.expected(value, where, "a count such as 5 or a share such as 10%")
                return None
        else:
            parsed = self.integer(value, where, minimum=1)
            if parsed is None:
                return None
            count = parsed
        within = None
        if "within" in pairs:
            within = self.selector(pairs["within"][1], f"{field}.within")
            if within is None:
                return None
        salt = field
        if "name" in pairs and isinstance(pairs["name"][1], ScalarNode):
            salt = str(pairs["name"][1].value)
        selector = RandomNodes(count=count, fraction=fraction, within=within, salt=salt)
        self.randoms.append((selector, value, where))
        return selector

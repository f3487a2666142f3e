"""Loading and validating scenario files.

Theory of operation: the YAML is *composed*, not loaded, so every value keeps the line and
column where it was written. One pass walks the node tree section by section, converting
values and recording a ``ScenarioIssue`` (file, line, field, what was expected, what was
found) for every problem instead of stopping at the first; a second pass checks what needs the
whole scenario (selectors that select no node, random draws larger than their pool). Only a
scenario without issues becomes a ``Scenario``; otherwise ``ScenarioError`` carries them all.

Plain YAML scalars are read from their text, not from YAML 1.1's guess at a type, so
``state: On`` is the state ``On`` (not ``True``) and ``at: 1:30`` is rejected rather than
read as 90.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection
from typing import Final, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hbtd_server.core._xname import hms_type, is_node, verify_normalize

from ._durations import format_duration, parse_duration
from ._errors import ScenarioError, ScenarioIssue
from ._hsm_states import FLAGS, STATES, normalize_flag, normalize_state
from ._mock_hsm import FaultMode, Faults
from ._scenario import (
    AgentTiming,
    DelayHeartbeats,
    Event,
    Expectation,
    Fleet,
    HealPartition,
    HsmBehavior,
    HsmChange,
    Invariants,
    NodesDie,
    NodesFlap,
    NodesRevive,
    ParamsPatch,
    PartitionNodes,
    Scenario,
    TrackerParams,
    TrackerRestart,
)
from ._selectors import (
    AllNodes,
    Cabinets,
    Except,
    Glob,
    Named,
    RandomNodes,
    Ref,
    Selection,
    Selector,
    Union,
    XnameSet,
)
from ._xnames import cabinet_of, expand_range, topology_xnames

__all__ = ["MAX_FLEET", "PARAM_NAMES", "load_scenario", "load_scenario_text"]

#: The largest fleet a scenario may describe.
MAX_FLEET: Final = 100_000

#: The tracker parameters ``PATCH /params`` knows (HBTD v1 API), canonical spelling.
PARAM_NAMES: Final = (
    "Debug",
    "Nosm",
    "Use_telemetry",
    "Telemetry_host",
    "Warntime",
    "Errtime",
    "Kv_url",
    "Interval",
    "Sm_url",
    "Sm_timeout",
    "Sm_retries",
    "Port",
    # hbtd-py extensions: the silence guard (docs/operations.md).
    "Guard_share",
    "Guard_min",
    "Guard_hold",
)
_PARAM_BY_LOWER: Final = {name.lower(): name for name in PARAM_NAMES}
_DURATION_PARAMS: Final = frozenset({"Warntime", "Errtime", "Interval", "Sm_timeout", "Guard_hold"})
_BOOL_PARAMS: Final = frozenset({"Nosm", "Use_telemetry"})
_INT_PARAMS: Final = frozenset({"Debug", "Sm_retries", "Guard_share", "Guard_min"})

_TOP_KEYS: Final = (
    "name",
    "description",
    "seed",
    "duration",
    "fleet",
    "agents",
    "tracker",
    "hsm",
    "timeline",
    "expect",
    "invariants",
)
_SELECTOR_KINDS: Final = ("all", "xnames", "glob", "range", "cabinet", "random", "ref")
_SELECTOR_KEYS: Final = (*_SELECTOR_KINDS, "within", "except", "name")
_ACTIONS: Final = (
    "die",
    "revive",
    "flap",
    "partition",
    "heal",
    "delay",
    "hsm",
    "tracker_restart",
    "params",
)
_FAULT_KEYS: Final = ("mode", "latency", "error_rate", "error_status")
_MODE_ALIASES: Final[dict[str, FaultMode]] = {
    "ok": "ok",
    "up": "ok",
    "down": "down",
    "unready": "unready",
    "error": "error",
    "errors": "error",
}
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_DURATION_HINT: Final = "a duration such as 30s, 1m30s, 500ms or a number of seconds"
_SELECTOR_HINT: Final = (
    "a selector: 'all', an xname, a range such as x1000c0s[0-3]b0n[0-1], a glob such as "
    "x1000c0s*b0n0, a cabinet such as x1000, a list of selectors, or a mapping with one of "
    + ", ".join(_SELECTOR_KINDS)
)
_T = TypeVar("_T")
_Pairs = dict[str, tuple[Node, Node]]


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    assert isinstance(node, ScalarNode)
    if node.tag == "tag:yaml.org,2002:null" and node.style is None:
        return "nothing"
    return repr(node.value)


def _is_null(node: Node) -> bool:
    return (
        isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.style is None
    )


class _Reader:
    """Walks one composed scenario, converting values and collecting issues."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[ScenarioIssue] = []
        self.named: dict[str, Selector] = {}
        self.fleet: tuple[str, ...] = ()
        self.fleet_set: frozenset[str] = frozenset()
        self.cabinets: frozenset[str] = frozenset()
        self.run_length: float | None = None
        # Selectors to check once the whole scenario is read: (selector, node, field).
        self.to_check: list[tuple[Selector, Node, str]] = []
        self.randoms: list[tuple[RandomNodes, Node, str]] = []

    # -- reporting ---------------------------------------------------------------------

    def error(self, node: Node | None, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        column = node.start_mark.column + 1 if node is not None else 0
        self.issues.append(ScenarioIssue(self.file, line, column, field, message))

    def expected(self, node: Node, field: str, what: str) -> None:
        self.error(node, field, f"expected {what}, got {_describe(node)}")

    # -- structure ---------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        field: str,
        keys: Collection[str],
        *,
        required: Collection[str] = (),
    ) -> _Pairs | None:
        if not isinstance(node, MappingNode):
            self.expected(node, field, "a mapping with keys " + ", ".join(keys))
            return None
        pairs: _Pairs = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.expected(key_node, field, "a plain key")
                continue
            key = key_node.value
            where = f"{field}.{key}" if field else key
            if key in pairs:
                first = pairs[key][0].start_mark.line + 1
                self.error(key_node, where, f"duplicate key (first set on line {first})")
                continue
            if key not in keys:
                close = difflib.get_close_matches(key, list(keys), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.error(key_node, where, f"unknown key; {hint}expected one of {', '.join(keys)}")
                continue
            pairs[key] = (key_node, value_node)
        for key in required:
            if key not in pairs:
                self.error(node, f"{field}.{key}" if field else key, "missing required key")
        return pairs

    def sequence(self, node: Node, field: str, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.expected(node, field, f"a list of {what}")
            return None
        return list(node.value)

    # -- scalars -----------------------------------------------------------------------

    def text(self, node: Node, field: str, what: str = "a string") -> str | None:
        if not isinstance(node, ScalarNode) or _is_null(node) or not node.value.strip():
            self.expected(node, field, what)
            return None
        return str(node.value).strip()

    def integer(self, node: Node, field: str, *, minimum: int = 0) -> int | None:
        raw = node.value if isinstance(node, ScalarNode) else None
        try:
            value = int(str(raw).replace("_", ""), 10) if raw is not None else None
        except ValueError:
            value = None
        if value is None:
            self.expected(node, field, f"an integer of at least {minimum}")
            return None
        if value < minimum:
            self.error(node, field, f"expected an integer of at least {minimum}, got {value}")
            return None
        return value

    def number(self, node: Node, field: str, low: float, high: float) -> float | None:
        raw = node.value if isinstance(node, ScalarNode) else None
        try:
            value = float(str(raw)) if raw is not None else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            self.expected(node, field, f"a number from {low:g} to {high:g}")
            return None
        return value

    def boolean(self, node: Node, field: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on", "y")
        self.expected(node, field, "true or false")
        return None

    def duration(self, node: Node, field: str, *, positive: bool = False) -> float | None:
        raw = node.value if isinstance(node, ScalarNode) and not _is_null(node) else None
        try:
            value = parse_duration(str(raw)) if raw is not None else None
        except ValueError:
            value = None
        if value is None:
            self.expected(node, field, _DURATION_HINT)
            return None
        if positive and value <= 0:
            self.expected(node, field, "a duration greater than 0")
            return None
        return value

    def time(self, node: Node, field: str) -> float | None:
        value = self.duration(node, field)
        if value is not None and self.duration_limit_exceeded(value):
            assert self.run_length is not None
            self.error(
                node,
                field,
                f"{format_duration(value)} is after the end of the run "
                f"(duration {format_duration(self.run_length)})",
            )
            return None
        return value

    def duration_limit_exceeded(self, value: float) -> bool:
        return self.run_length is not None and value > self.run_length

    def state(self, node: Node, field: str) -> str | None:
        raw = self.text(node, field, "an HMS state")
        value = normalize_state(raw) if raw is not None else None
        if raw is not None and value is None:
            self.error(node, field, f"expected one of {', '.join(STATES)}, got {raw!r}")
        return value

    def flag(self, node: Node, field: str) -> str | None:
        raw = self.text(node, field, "an HMS flag")
        value = normalize_flag(raw) if raw is not None else None
        if raw is not None and value is None:
            self.error(node, field, f"expected one of {', '.join(FLAGS)}, got {raw!r}")
        return value

    def get(
        self,
        pairs: _Pairs,
        key: str,
        field: str,
        convert: Callable[[Node, str], _T | None],
        default: _T,
    ) -> _T:
        if key not in pairs:
            return default
        value = convert(pairs[key][1], f"{field}.{key}" if field else key)
        return default if value is None else value

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

    def read_tracker(self, node: Node | None) -> TrackerParams:
        if node is None:
            return TrackerParams()
        pairs = self.mapping(node, "tracker", ("warntime", "errtime", "interval", "params"))
        if pairs is None:
            return TrackerParams()

        def positive(n: Node, f: str) -> float | None:
            return self.duration(n, f, positive=True)

        warntime = self.get(pairs, "warntime", "tracker", positive, 10.0)
        errtime = self.get(pairs, "errtime", "tracker", positive, 20.0)
        interval = self.get(pairs, "interval", "tracker", positive, 1.0)
        if errtime <= warntime:
            where = pairs.get("errtime", pairs.get("warntime", (node, node)))[1]
            self.error(
                where,
                "tracker.errtime",
                f"expected more than warntime ({format_duration(warntime)}), "
                f"got {format_duration(errtime)}",
            )
            errtime = warntime * 2  # reported; carry on with a value the model accepts
        params: dict[str, str] = {}
        if "params" in pairs:
            params = self.read_params(pairs["params"][1], "tracker.params")
            for name in ("Warntime", "Errtime", "Interval"):
                if name in params:
                    self.error(
                        pairs["params"][1],
                        f"tracker.params.{name}",
                        f"set tracker.{name.lower()} instead",
                    )
        return TrackerParams(warntime=warntime, errtime=errtime, interval=interval, params=params)

    def read_params(self, node: Node, field: str) -> dict[str, str]:
        if not isinstance(node, MappingNode) or not node.value:
            self.expected(node, field, "a mapping of PATCH /params names to values")
            return {}
        out: dict[str, str] = {}
        for key_node, value_node in node.value:
            raw = key_node.value if isinstance(key_node, ScalarNode) else ""
            name = _PARAM_BY_LOWER.get(str(raw).lower())
            where = f"{field}.{raw}"
            if name is None:
                known = [n for n in PARAM_NAMES if n != "Port"]
                close = difflib.get_close_matches(str(raw), known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.error(
                    key_node, where, f"unknown parameter; {hint}expected one of {', '.join(known)}"
                )
                continue
            if name == "Port":
                self.error(key_node, where, "Port is read-only in PATCH /params")
                continue
            if name in out:
                self.error(key_node, where, "duplicate parameter")
                continue
            value: str | None
            if name in _DURATION_PARAMS:
                seconds = self.duration(value_node, where, positive=True)
                value = None if seconds is None else _seconds(seconds)
            elif name in _BOOL_PARAMS:
                value = self.param_bool(value_node, where)
            elif name in _INT_PARAMS:
                number = self.integer(value_node, where)
                value = None if number is None else str(number)
            else:
                value = self.text(value_node, where)
            if value is not None:
                out[name] = value
        return out

    def param_bool(self, node: Node, field: str) -> str | None:
        if isinstance(node, ScalarNode):
            if node.tag == "tag:yaml.org,2002:bool":
                return "1" if node.value.lower() in ("true", "yes", "on", "y") else "0"
            if node.value in ("0", "1"):
                return str(node.value)
        self.expected(node, field, "true, false, 0 or 1")
        return None

    def read_faults(self, pairs: _Pairs, field: str, node: Node) -> Faults | None:
        mode: FaultMode = "ok"
        if "mode" in pairs:
            raw = self.text(pairs["mode"][1], f"{field}.mode", "a fault mode")
            if raw is not None and raw.lower() not in _MODE_ALIASES:
                self.error(
                    pairs["mode"][1],
                    f"{field}.mode",
                    f"expected one of {', '.join(_MODE_ALIASES)}, got {raw!r}",
                )
            elif raw is not None:
                mode = _MODE_ALIASES[raw.lower()]
        latency = self.get(pairs, "latency", field, self.duration, 0.0)
        rate = self.get(pairs, "error_rate", field, lambda n, f: self.number(n, f, 0.0, 1.0), 0.0)
        status = self.get(
            pairs, "error_status", field, lambda n, f: self.integer(n, f, minimum=400), 500
        )
        if status > 599:
            self.error(
                pairs["error_status"][1],
                f"{field}.error_status",
                f"expected an HTTP error status from 400 to 599, got {status}",
            )
            return None
        return Faults(mode=mode, error_rate=rate, latency_ms=latency * 1000.0, error_status=status)

    def read_hsm(self, node: Node | None) -> HsmBehavior:
        if node is None:
            return HsmBehavior()
        keys = (
            "initial_state",
            "initial_flag",
            "unknown",
            "auto_create",
            "power_polling",
            *_FAULT_KEYS,
        )
        pairs = self.mapping(node, "hsm", keys)
        if pairs is None:
            return HsmBehavior()
        state = self.get(pairs, "initial_state", "hsm", self.state, "On")
        flag = self.get(pairs, "initial_flag", "hsm", self.flag, "OK")
        unknown = None
        if "unknown" in pairs:
            unknown = self.selector(pairs["unknown"][1], "hsm.unknown", top=True)
        auto_create = self.get(pairs, "auto_create", "hsm", self.boolean, False)
        power_polling = self.get(pairs, "power_polling", "hsm", self.boolean, False)
        faults = self.read_faults(pairs, "hsm", node) or Faults()
        return HsmBehavior(
            initial_state=state,
            initial_flag=flag,
            unknown=unknown,
            auto_create=auto_create,
            power_polling=power_polling,
            faults=faults,
        )

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
        kinds = [key for key in pairs if key in _SELECTOR_KINDS]
        if len(kinds) != 1:
            got = ", ".join(kinds) if kinds else "none"
            self.error(
                node, field, f"expected exactly one of {', '.join(_SELECTOR_KINDS)}; got {got}"
            )
            return None
        kind = kinds[0]
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

    # -- timeline ----------------------------------------------------------------------

    def read_timeline(
        self, node: Node | None, tracker: TrackerParams, agents: AgentTiming
    ) -> list[Event]:
        if node is None:
            return []
        items = self.sequence(node, "timeline", "events")
        events: list[Event] = []
        warntime, errtime = tracker.warntime, tracker.errtime
        for i, item in enumerate(items or ()):
            field = f"timeline[{i}]"
            event = self.read_event(item, field)
            if event is None:
                continue
            if isinstance(event, ParamsPatch):
                warntime = float(event.params.get("Warntime", warntime))
                errtime = float(event.params.get("Errtime", errtime))
                if errtime <= warntime:
                    self.error(
                        item,
                        f"{field}.params",
                        f"after this patch errtime ({format_duration(errtime)}) is not "
                        f"more than warntime ({format_duration(warntime)})",
                    )
                if agents.interval >= warntime:
                    self.error(
                        item,
                        f"{field}.params",
                        f"after this patch warntime ({format_duration(warntime)}) is "
                        f"not more than the agent interval "
                        f"({format_duration(agents.interval)})",
                    )
            events.append(event)
        return sorted(events, key=lambda event: event.at)

    def read_event(self, node: Node, field: str) -> Event | None:
        pairs = self.mapping(node, field, ("at", "note", *_ACTIONS), required=("at",))
        if pairs is None:
            return None
        actions = [key for key in pairs if key in _ACTIONS]
        if len(actions) != 1:
            got = ", ".join(actions) if actions else "none"
            self.error(
                node, field, f"expected exactly one action of {', '.join(_ACTIONS)}; got {got}"
            )
            return None
        at = self.time(pairs["at"][1], f"{field}.at") if "at" in pairs else None
        if "note" in pairs:
            self.text(pairs["note"][1], f"{field}.note")
        action = actions[0]
        value = pairs[action][1]
        where = f"{field}.{action}"
        line = node.start_mark.line + 1
        event: Event | None = None
        if action in ("die", "revive", "partition", "heal"):
            event = self.nodes_event(action, value, where, at, line)
        elif action == "flap":
            event = self.flap_event(value, where, at, line)
        elif action == "delay":
            event = self.delay_event(value, where, at, line)
        elif action == "hsm":
            event = self.hsm_event(value, where, at, line)
        elif action == "tracker_restart":
            downtime: float | None = 0.0
            if isinstance(value, MappingNode):
                sub = self.mapping(value, where, ("downtime",))
                downtime = (
                    None if sub is None else self.get(sub, "downtime", where, self.duration, 0.0)
                )
            elif not (
                _is_null(value) or (isinstance(value, ScalarNode) and value.value.lower() == "true")
            ):
                self.expected(value, where, "true or a mapping with downtime")
                downtime = None
            if at is not None and downtime is not None:
                event = TrackerRestart(at=at, line=line, downtime=downtime)
        else:  # params
            params = self.read_params(value, where)
            if at is not None and params:
                event = ParamsPatch(at=at, line=line, params=params)
        return event if at is not None else None

    def nodes_event(
        self, action: str, value: Node, where: str, at: float | None, line: int
    ) -> Event | None:
        spread = 0.0
        selector_node = value
        if isinstance(value, MappingNode) and any(
            isinstance(k, ScalarNode) and k.value == "nodes" for k, _ in value.value
        ):
            keys = ("nodes", "spread") if action in ("die", "revive") else ("nodes",)
            pairs = self.mapping(value, where, keys)
            if pairs is None:
                return None
            selector_node = pairs["nodes"][1]
            spread = self.get(pairs, "spread", where, self.duration, 0.0)
            where = f"{where}.nodes"
        selector = self.selector(selector_node, where, top=True)
        if selector is None or at is None:
            return None
        if action == "die":
            return NodesDie(at=at, line=line, nodes=selector, spread=spread)
        if action == "revive":
            return NodesRevive(at=at, line=line, nodes=selector, spread=spread)
        if action == "partition":
            return PartitionNodes(at=at, line=line, nodes=selector)
        return HealPartition(at=at, line=line, nodes=selector)

    def flap_event(self, value: Node, where: str, at: float | None, line: int) -> Event | None:
        pairs = self.mapping(
            value,
            where,
            ("nodes", "period", "count", "down"),
            required=("nodes", "period", "count"),
        )
        if pairs is None or not {"nodes", "period", "count"} <= pairs.keys():
            return None
        selector = self.selector(pairs["nodes"][1], f"{where}.nodes", top=True)
        period = self.duration(pairs["period"][1], f"{where}.period", positive=True)
        count = self.integer(pairs["count"][1], f"{where}.count", minimum=1)
        if period is None:
            return None
        down = self.get(
            pairs, "down", where, lambda n, f: self.duration(n, f, positive=True), period / 2
        )
        if down >= period:
            self.error(
                pairs["down"][1],
                f"{where}.down",
                f"expected less than the period ({format_duration(period)}), "
                f"got {format_duration(down)}",
            )
            return None
        if selector is None or count is None or at is None:
            return None
        return NodesFlap(at=at, line=line, nodes=selector, period=period, count=count, down=down)

    def delay_event(self, value: Node, where: str, at: float | None, line: int) -> Event | None:
        pairs = self.mapping(value, where, ("nodes", "by", "for"), required=("nodes", "by"))
        if pairs is None or not {"nodes", "by"} <= pairs.keys():
            return None
        selector = self.selector(pairs["nodes"][1], f"{where}.nodes", top=True)
        by = self.duration(pairs["by"][1], f"{where}.by")
        duration = None
        if "for" in pairs:
            duration = self.duration(pairs["for"][1], f"{where}.for", positive=True)
            if duration is None:
                return None
        if selector is None or by is None or at is None:
            return None
        return DelayHeartbeats(at=at, line=line, nodes=selector, by=by, duration=duration)

    def hsm_event(self, value: Node, where: str, at: float | None, line: int) -> Event | None:
        faults: Faults | None
        if isinstance(value, ScalarNode):
            raw = self.text(value, where, "a fault mode or a mapping")
            if raw is None:
                return None
            if raw.lower() not in _MODE_ALIASES:
                self.error(
                    value,
                    where,
                    f"expected one of {', '.join(_MODE_ALIASES)} or a "
                    f"mapping of {', '.join(_FAULT_KEYS)}, got {raw!r}",
                )
                return None
            faults = Faults(mode=_MODE_ALIASES[raw.lower()])
        else:
            pairs = self.mapping(value, where, _FAULT_KEYS)
            faults = None if pairs is None else self.read_faults(pairs, where, value)
        if faults is None or at is None:
            return None
        return HsmChange(at=at, line=line, faults=faults)

    # -- expectations and invariants ---------------------------------------------------

    def read_expectations(self, node: Node | None) -> list[Expectation]:
        if node is None:
            return []
        items = self.sequence(node, "expect", "expectations")
        out: list[Expectation] = []
        keys = ("name", "at", "by", "after", "nodes", "state", "flag", "heartbeating")
        for i, item in enumerate(items or ()):
            field = f"expect[{i}]"
            pairs = self.mapping(item, field, keys, required=("nodes",))
            if pairs is None:
                continue
            if ("at" in pairs) == ("by" in pairs):
                self.error(item, field, "expected exactly one of at and by")
                continue
            if "after" in pairs and "by" not in pairs:
                self.error(pairs["after"][0], f"{field}.after", "only goes with by")
                continue
            if not {"state", "flag", "heartbeating"} & pairs.keys():
                self.error(item, field, "expected at least one of state, flag and heartbeating")
                continue
            at = self.get(pairs, "at", field, self.time, None)
            by = self.get(pairs, "by", field, self.time, None)
            after = self.get(pairs, "after", field, self.time, 0.0)
            if by is not None and after > by:
                self.error(
                    pairs["after"][1],
                    f"{field}.after",
                    f"expected at most by ({format_duration(by)}), got {format_duration(after)}",
                )
                continue
            state = self.get(pairs, "state", field, self.state, None)
            flag = self.get(pairs, "flag", field, self.flag, None)
            beating = self.get(pairs, "heartbeating", field, self.boolean, None)
            selector = None
            if "nodes" in pairs:
                selector = self.selector(pairs["nodes"][1], f"{field}.nodes", top=True)
            if selector is None or (at is None and by is None):
                continue
            if (state, flag, beating) == (None, None, None):
                continue  # each was reported as it failed to convert
            name = self.get(pairs, "name", field, self.text, "")
            if not name:
                when = (
                    f"at {format_duration(at)}"
                    if at is not None
                    else (f"by {format_duration(by or 0.0)}")
                )
                wanted = "/".join(w for w in (state, flag) if w) or f"heartbeating={beating}"
                name = f"{selector.describe()} {wanted} {when}"
            out.append(
                Expectation(
                    name=name,
                    line=item.start_mark.line + 1,
                    nodes=selector,
                    at=at,
                    by=by,
                    after=after,
                    state=state,
                    flag=flag,
                    heartbeating=beating,
                )
            )
        return out

    def read_invariants(self, node: Node | None) -> Invariants:
        if node is None:
            return Invariants()
        keys = (
            "no_false_alarms",
            "max_detection_lateness",
            "max_patches_per_wave",
            "wave_gap",
            "final_state_matches_truth",
            "no_stale_patches",
            "messages_match_truth",
        )
        pairs = self.mapping(node, "invariants", keys)
        if pairs is None:
            return Invariants()
        field = "invariants"
        return Invariants(
            no_false_alarms=self.get(pairs, "no_false_alarms", field, self.boolean, True),
            max_detection_lateness=self.get(
                pairs, "max_detection_lateness", field, self.duration, None
            ),
            max_patches_per_wave=self.get(
                pairs,
                "max_patches_per_wave",
                field,
                lambda n, f: self.integer(n, f, minimum=1),
                None,
            ),
            wave_gap=self.get(
                pairs, "wave_gap", field, lambda n, f: self.duration(n, f, positive=True), 5.0
            ),
            final_state_matches_truth=self.get(
                pairs, "final_state_matches_truth", field, self.boolean, True
            ),
            no_stale_patches=self.get(pairs, "no_stale_patches", field, self.boolean, False),
            messages_match_truth=self.get(pairs, "messages_match_truth", field, self.boolean, True),
        )

    # -- whole-scenario checks ---------------------------------------------------------

    def check_selections(self, seed: int) -> None:
        if not self.fleet:
            return
        selection = Selection(self.fleet, seed, self.named)
        for drawn, node, field in self.randoms:
            pool = len(selection.resolve(drawn.within)) if drawn.within else len(self.fleet)
            if drawn.fraction is None and drawn.count > pool:
                self.error(node, field, f"cannot draw {drawn.count} nodes from a pool of {pool}")
        for selector, node, field in self.to_check:
            if not selection.resolve(selector):
                self.error(node, field, f"{selector.describe()} selects no node of the fleet")


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def load_scenario_text(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario YAML and build the ``Scenario``.

    Args:
        text: the YAML.
        file: the name to use in messages and in ``Scenario.path``.

    Returns:
        The scenario.

    Raises:
        ScenarioError: with every issue found, each located by file, line, column and field.
    """
    reader = _Reader(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or exc.context or "bad YAML"
        raise ScenarioError(
            [ScenarioIssue(file, line, column, "", f"not valid YAML: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([ScenarioIssue(file, 0, 0, "", f"not valid YAML: {exc}")]) from None
    if root is None:
        raise ScenarioError([ScenarioIssue(file, 0, 0, "", "the file is empty")])
    pairs = reader.mapping(root, "", _TOP_KEYS, required=("name", "duration", "fleet"))
    if pairs is None:
        raise ScenarioError(reader.issues)

    def section(key: str) -> Node | None:
        return pairs[key][1] if key in pairs else None

    name = reader.get(pairs, "name", "", reader.text, "")
    if name and not _NAME_RE.fullmatch(name):
        # The runner names report files and JUnit suites after it.
        reader.error(
            pairs["name"][1], "name", f"expected letters, digits, '_', '.' or '-', got {name!r}"
        )
    description = reader.get(pairs, "description", "", reader.text, "")
    seed = reader.get(pairs, "seed", "", reader.integer, 0)
    duration = reader.get(
        pairs, "duration", "", lambda n, f: reader.duration(n, f, positive=True), 0.0
    )
    reader.run_length = duration or None
    fleet_node = section("fleet")
    fleet = (
        reader.read_fleet(fleet_node) if fleet_node is not None else Fleet(nodes=(), cabinets=())
    )
    agents = reader.read_agents(section("agents"))
    tracker = reader.read_tracker(section("tracker"))
    if agents.interval >= tracker.warntime:
        where = section("agents") or section("tracker") or root
        reader.error(
            where,
            "agents.interval",
            f"expected less than tracker.warntime ({format_duration(tracker.warntime)}),"
            f" got {format_duration(agents.interval)}: every node would warn",
        )
    hsm = reader.read_hsm(section("hsm"))
    timeline = reader.read_timeline(section("timeline"), tracker, agents)
    expectations = reader.read_expectations(section("expect"))
    invariants = reader.read_invariants(section("invariants"))
    reader.check_selections(seed)
    if reader.issues:
        raise ScenarioError(sorted(reader.issues, key=lambda i: (i.line, i.column)))
    return Scenario(
        name=name,
        description=description,
        path=file,
        seed=seed,
        duration=duration,
        fleet=fleet,
        agents=agents,
        tracker=tracker,
        hsm=hsm,
        timeline=tuple(timeline),
        expectations=tuple(expectations),
        invariants=invariants,
        named=dict(reader.named),
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, validate and build the scenario in ``path``.

    Args:
        path: the YAML file; messages name it as given.

    Returns:
        The scenario.

    Raises:
        ScenarioError: the file cannot be read, or is invalid (every issue, located).
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([ScenarioIssue(file, 0, 0, "", f"cannot read: {exc}")]) from None
    return load_scenario_text(text, file)

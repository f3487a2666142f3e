"""Scenario reading, common part: locating values and converting scalars, with issues.

Theory of operation: see ``_load``. Each section of the file has its own module and reader class;
they form one chain of subclasses ending in ``ScenarioReader``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Sequence
from typing import Final, TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hbtd_server.core import PARAM_NAMES as CORE_PARAM_NAMES

from ..errors import ScenarioIssue
from ..hsm import FLAGS, STATES, FaultMode, normalize_flag, normalize_state
from ._durations import format_duration, parse_duration
from ._selectors import (
    RandomNodes,
    Selector,
)

__all__ = ["MAX_FLEET", "PARAM_NAMES"]

#: The largest fleet a scenario may describe.
MAX_FLEET: Final = 100_000

#: The tracker parameters ``PATCH /params`` knows, canonical spelling: the tracker's own list.
PARAM_NAMES: Final = CORE_PARAM_NAMES
_PARAM_BY_LOWER: Final = {name.lower(): name for name in PARAM_NAMES}
_DURATION_PARAMS: Final = frozenset(
    {"Warntime", "Errtime", "Interval", "Sm_timeout", "Guard_hold", "Reconcile_interval"}
)
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
    "clocks",
)
_SELECTOR_KINDS: Final = ("all", "xnames", "glob", "range", "cabinet", "random", "ref")
_SELECTOR_KEYS: Final = (*_SELECTOR_KINDS, "within", "except", "name")
_ACTIONS: Final = (
    "die",
    "revive",
    "flap",
    "partition",
    "heal",
    "shutdown",
    "delay",
    "hsm",
    "tracker_restart",
    "params",
    "power_off",
    "power_on",
    "operator",
    "hsm_restore",
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


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


class _BaseReader:
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
        return self.spelling(node, field, "an HMS state", normalize_state, STATES)

    def flag(self, node: Node, field: str) -> str | None:
        return self.spelling(node, field, "an HMS flag", normalize_flag, FLAGS)

    def spelling(
        self,
        node: Node,
        field: str,
        what: str,
        normalize: Callable[[str], str | None],
        canonical: Sequence[str],
    ) -> str | None:
        """Read a string ``normalize`` turns into one of the ``canonical`` names."""
        raw = self.text(node, field, what)
        value = normalize(raw) if raw is not None else None
        if raw is not None and value is None:
            self.error(node, field, f"expected one of {', '.join(canonical)}, got {raw!r}")
        return value

    def only_one(
        self, node: Node, field: str, pairs: _Pairs, choices: Sequence[str], kind: str = ""
    ) -> str | None:
        """Return the one key of ``choices`` in ``pairs``; report it, and None, unless one."""
        found = [key for key in pairs if key in choices]
        if len(found) != 1:
            got = ", ".join(found) if found else "none"
            one = f"one {kind} of" if kind else "one of"
            self.error(node, field, f"expected exactly {one} {', '.join(choices)}; got {got}")
            return None
        return found[0]

    def error_status(self, pairs: _Pairs, key: str, field: str, default: int) -> int | None:
        """Read the HTTP error status (400 to 599) at ``key``; None after reporting a bad one."""
        status = self.get(pairs, key, field, lambda n, f: self.integer(n, f, minimum=400), default)
        if status > 599:
            self.error(
                pairs[key][1],
                f"{field}.{key}",
                f"expected an HTTP error status from 400 to 599, got {status}",
            )
            return None
        return status

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

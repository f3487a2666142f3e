"""Reading ``tracker`` and ``hsm``: the tracker's parameters and the mock HSM's behaviour."""

from __future__ import annotations

import difflib

from yaml.nodes import MappingNode, Node, ScalarNode

from ..hsm import FaultMode, Faults
from ._durations import format_duration
from ._model import (
    HsmBehavior,
    TrackerParams,
)
from ._read_base import (
    _BOOL_PARAMS,
    _DURATION_PARAMS,
    _FAULT_KEYS,
    _INT_PARAMS,
    _MODE_ALIASES,
    _PARAM_BY_LOWER,
    PARAM_NAMES,
    _Pairs,
    _seconds,
)
from ._read_selectors import _SelectorReader

__all__ = ["_ParamsReader"]


class _ParamsReader(_SelectorReader):
    """Reading ``tracker`` and ``hsm``: the tracker's parameters and the mock HSM's behaviour."""

    def read_tracker(self, node: Node | None) -> TrackerParams:
        if node is None:
            return TrackerParams()
        pairs = self.mapping(
            node, "tracker", ("warntime", "errtime", "interval", "reconcile_interval", "params")
        )
        if pairs is None:
            return TrackerParams()

        def positive(n: Node, f: str) -> float | None:
            return self.duration(n, f, positive=True)

        warntime = self.get(pairs, "warntime", "tracker", positive, 10.0)
        errtime = self.get(pairs, "errtime", "tracker", positive, 20.0)
        interval = self.get(pairs, "interval", "tracker", positive, 1.0)
        reconcile: float | None = None
        if "reconcile_interval" in pairs:
            reconcile = self.duration(pairs["reconcile_interval"][1], "tracker.reconcile_interval")
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
            for name in ("Warntime", "Errtime", "Interval", "Reconcile_interval"):
                if name in params:
                    self.error(
                        pairs["params"][1],
                        f"tracker.params.{name}",
                        f"set tracker.{name.lower()} instead",
                    )
        return TrackerParams(
            warntime=warntime,
            errtime=errtime,
            interval=interval,
            params=params,
            reconcile_interval=reconcile,
        )

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
        status = self.error_status(pairs, "error_status", field, 500)
        if status is None:
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

"""Reading ``timeline``: the events and their times."""

from __future__ import annotations

import dataclasses

from yaml.nodes import MappingNode, Node, ScalarNode

from ..hsm import Faults
from ._durations import format_duration
from ._model import (
    AgentTiming,
    DelayHeartbeats,
    Event,
    HealPartition,
    HsmChange,
    NodesDie,
    NodesFlap,
    NodesRevive,
    NodesShutdown,
    OperatorPatch,
    ParamsPatch,
    PartitionNodes,
    PowerOff,
    PowerOn,
    RestoreHsm,
    TrackerParams,
    TrackerRestart,
)
from ._read_base import _ACTIONS, _FAULT_KEYS, _MODE_ALIASES, _is_null
from ._read_params import _ParamsReader

__all__ = ["_TimelineReader"]


class _TimelineReader(_ParamsReader):
    """Reading ``timeline``: the events and their times."""

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
            if isinstance(event, ParamsPatch) and "Reconcile_interval" in event.params:
                self.error(
                    item,
                    f"{field}.params.Reconcile_interval",
                    "set tracker.reconcile_interval instead (it holds for the whole run)",
                )
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
        action = self.only_one(node, field, pairs, _ACTIONS, "action")
        if action is None:
            return None
        at = self.time(pairs["at"][1], f"{field}.at") if "at" in pairs else None
        if "note" in pairs:
            self.text(pairs["note"][1], f"{field}.note")
        value = pairs[action][1]
        where = f"{field}.{action}"
        line = node.start_mark.line + 1
        event: Event | None = None
        if action in ("die", "revive", "partition", "heal", "shutdown", "power_off", "power_on"):
            event = self.nodes_event(action, value, where, at, line)
        elif action == "operator":
            event = self.operator_event(value, where, at, line)
        elif action == "hsm_restore":
            event = self.restore_event(value, where, at, line)
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
            spreads = ("die", "revive", "power_off", "power_on")
            keys = ("nodes", "spread") if action in spreads else ("nodes",)
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
        if action == "power_off":
            return PowerOff(at=at, line=line, nodes=selector, spread=spread)
        if action == "power_on":
            return PowerOn(at=at, line=line, nodes=selector, spread=spread)
        if action == "partition":
            return PartitionNodes(at=at, line=line, nodes=selector)
        if action == "shutdown":
            return NodesShutdown(at=at, line=line, nodes=selector)
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
            pairs = self.mapping(value, where, (*_FAULT_KEYS, "refuse", "refuse_status"))
            faults = None if pairs is None else self.read_faults(pairs, where, value)
            if faults is not None and pairs is not None and "refuse" in pairs:
                refuse = self.selector(pairs["refuse"][1], f"{where}.refuse", top=True)
                status = self.error_status(pairs, "refuse_status", where, 400)
                if refuse is None or status is None or at is None:
                    return None
                faults = dataclasses.replace(faults, refuse_status=status)
                return HsmChange(at=at, line=line, faults=faults, refuse=refuse)
        if faults is None or at is None:
            return None
        return HsmChange(at=at, line=line, faults=faults)

    def operator_event(self, value: Node, where: str, at: float | None, line: int) -> Event | None:
        pairs = self.mapping(
            value, where, ("nodes", "state", "flag", "force"), required=("nodes", "state")
        )
        if pairs is None or not {"nodes", "state"} <= pairs.keys():
            return None
        selector = self.selector(pairs["nodes"][1], f"{where}.nodes", top=True)
        state = self.state(pairs["state"][1], f"{where}.state")
        flag = self.get(pairs, "flag", where, self.flag, "OK")
        force = self.get(pairs, "force", where, self.boolean, False)
        if state in ("Unknown", "Empty", "Populated") and not force:
            self.error(
                pairs["state"][1],
                f"{where}.state",
                f"{state} needs force: true (HSM refuses it otherwise: "
                "operation not allowed and not forced.)",
            )
            return None
        if selector is None or state is None or at is None:
            return None
        return OperatorPatch(at=at, line=line, nodes=selector, state=state, flag=flag, force=force)

    def restore_event(self, value: Node, where: str, at: float | None, line: int) -> Event | None:
        pairs = self.mapping(value, where, ("from",), required=("from",))
        if pairs is None or "from" not in pairs:
            return None
        source = self.time(pairs["from"][1], f"{where}.from")
        if source is None or at is None:
            return None
        if source >= at:
            self.error(
                pairs["from"][1],
                f"{where}.from",
                f"expected a moment before the restore ({format_duration(at)}), "
                f"got {format_duration(source)}",
            )
            return None
        return RestoreHsm(at=at, line=line, source=source)

"""The mock HSM's model: components, the StateData rules, recording and fault decisions.

Theory of operation: ``MockHsm`` is a sans-IO model of the parts of HSM (``cray-smd``) a
heartbeat tracker touches. It never reads a clock and never sleeps: callers pass ``now``, and
fault injection is a *decision* (``decide_fault``) that the web layer carries out (it sleeps,
then answers the error). The quart-trio app in ``_hsm_app`` and the virtual-time simulator both
drive this one class, so they cannot disagree about HSM's rules.

The rules reproduced (HSM's, as docs/mock-hsm.md lists them):

- a StateData update validates in HSM's order: ``Missing IDs``, then every ID through
  ``verify_normalize`` (one bad ID rejects the whole request with ``invalid xname ID``), then
  ``Missing State``, ``Argument was not a valid HMS State`` and ``operation not allowed and not
  forced.``; all are 400 problems, and undecodable JSON is a 500 ``error decoding JSON ...``;
- JSON keys match case-insensitively (Go ``encoding/json``), values such as states and flags
  too; a missing, empty or unknown Flag means ``OK``;
- the start-state table and ``Force`` (``_hsm_states``), Ready/Warning only from Ready,
  a sticky ``Locked`` flag, unknown IDs silently skipped, rows already at the target skipped;
- only rows that changed are reported, as one ``StateChange`` per request (HSM's SCN).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Final, TypeVar

from hbtd_server.core import normalize, verify_normalize

from ..errors import HsmProblem
from ._faults import NO_FAULT, FaultDecision, Faults
from ._gojson import (
    COMP_PATCH_FIELDS,
    COMP_UPDATE_FIELDS,
    COMPONENTS_POST_FIELDS,
    decode_json,
    decode_struct,
)
from ._query import BY_LOWER, query_components
from ._records import Component, RecordedRequest, StateChange
from ._states import allowed_start_states, needs_force, normalize_flag, normalize_state

__all__ = ["HSM_ROOT", "MockHsm"]

#: Where HSM's API lives; faults only apply below it.
HSM_ROOT: Final = "/hsm/v2"


class MockHsm:
    """A faithful, sans-IO model of HSM's component state API.

    Args:
        nodes: xnames to pre-create as compute nodes (normalized; invalid names raise).
        node_state: the State of pre-created nodes. ``On`` is what discovery leaves, so a
            tracker's "heartbeat started" (Ready/OK) moves them to Ready.
        node_flag: the Flag of pre-created nodes.
        components: further components to pre-create, as they are.
        auto_create: when True, a well-formed ID HSM does not know springs into existence
            (as an ``On`` component of its type) on the first StateData PATCH naming it. Real
            HSM skips unknown IDs silently, which is the default.
        power_polling: when True, model HSM's Redfish power polling: a Node that goes to
            Standby is polled 30 s later and every 10 s after, and set ``Off`` once a poll
            finds it powered off (see ``set_power`` and ``poll``). Off by default, as the
            mock has no Redfish to ask.
        faults: the initial fault settings.
        seed: seed of the generator that decides ``error_rate`` faults.
        max_records: how many requests (and state changes) to remember; older ones are
            dropped, their indexes are not reused.

    Raises:
        ValueError: a name in ``nodes`` is not an xname.
    """

    def __init__(
        self,
        *,
        nodes: Iterable[str] = (),
        node_state: str = "On",
        node_flag: str = "OK",
        components: Iterable[Component] = (),
        auto_create: bool = False,
        power_polling: bool = False,
        faults: Faults | None = None,
        seed: int = 0,
        max_records: int = 1_000_000,
    ) -> None:
        state = normalize_state(node_state)
        flag = normalize_flag(node_flag)
        if state is None or flag is None:
            raise ValueError(f"bad initial state/flag {node_state!r}/{node_flag!r}")
        initial: dict[str, Component] = {}
        for raw in nodes:
            xname = verify_normalize(raw)
            if xname is None:
                raise ValueError(f"{raw!r} is not an xname")
            initial[xname] = Component.node(xname, state=state, flag=flag)
        for component in components:
            initial[component.id] = component
        self.auto_create = auto_create
        self.power_polling = power_polling
        self._initial = MappingProxyType(initial)
        self._initial_faults = faults or Faults()
        self._seed = seed
        self._max_records = max_records
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything since construction: components, logs, faults and generator."""
        self._components: dict[str, Component] = dict(self._initial)
        self._requests: deque[RecordedRequest] = deque(maxlen=self._max_records)
        self._changes: deque[StateChange] = deque(maxlen=self._max_records)
        self._next_request = 0
        self._next_change = 0
        self._faults = self._initial_faults
        self._rng = random.Random(self._seed)
        # Power polling: the due time of each node's next poll (a heap entry whose time no
        # longer matches is stale), and the nodes whose power is off.
        self._poll_due: dict[str, float] = {}
        self._poll_heap: list[tuple[float, str]] = []
        self._powered_off: set[str] = set()

    # -- reading -----------------------------------------------------------------------

    @property
    def components(self) -> Mapping[str, Component]:
        """All components by normalized ID, in creation order (a read-only view)."""
        return MappingProxyType(self._components)

    def component(self, xname: str) -> Component:
        """Return one component, as ``GET /State/Components/{xname}`` does.

        Args:
            xname: the ID; it is normalized, not validated.

        Raises:
            HsmProblem: 404 ``no such xname.`` when unknown or malformed.
        """
        found = self._components.get(normalize(xname))
        if found is None:
            raise HsmProblem(404, "no such xname.")
        return found

    def query(self, params: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
        """Answer ``GET /State/Components`` (see ``query_components``)."""
        return query_components(self._components.values(), params)

    # -- writing -----------------------------------------------------------------------

    def set_state(
        self,
        ids: Sequence[str],
        state: str,
        flag: str = "",
        *,
        force: bool = False,
        now: float,
    ) -> StateChange | None:
        """Apply a StateData update with HSM's validation and transition rules.

        Args:
            ids: component IDs as sent; each is normalized.
            state: the target State, any case.
            flag: the target Flag, any case; empty or unknown means ``OK``.
            force: HSM's ``Force``.
            now: the time of the update, for the change log.

        Returns:
            The change announced (only the rows that changed), or None when nothing changed.

        Raises:
            HsmProblem: 400 with HSM's detail, and nothing is changed.
        """
        if not ids:
            raise HsmProblem(400, "Missing IDs")
        normalized: list[str] = []
        for raw in ids:
            xname = verify_normalize(raw)
            if xname is None:
                raise HsmProblem(400, "invalid xname ID")
            normalized.append(xname)
        if state == "":
            raise HsmProblem(400, "Missing State")
        target = normalize_state(state)
        if target is None:
            raise HsmProblem(400, "Argument was not a valid HMS State")
        if needs_force(target) and not force:
            raise HsmProblem(400, "operation not allowed and not forced.")
        requested_flag = normalize_flag(flag) if flag else "OK"
        # An unknown flag still updates with OK (upstream re-normalizes "" to OK), but the SCN
        # then carries no Flag.
        target_flag = requested_flag or "OK"
        starts = allowed_start_states(target, target_flag, force=force)
        changed: list[str] = []
        seen: set[str] = set()
        for xname in normalized:
            if xname in seen:
                continue
            seen.add(xname)
            current = self._components.get(xname)
            if current is None:
                if not self.auto_create:
                    continue
                current = Component.node(xname)
                self._components[xname] = current
            if starts is not None and current.state not in starts:
                continue
            if current.state == target and current.flag == target_flag:
                continue
            # HSM's UPDATE keeps a Locked flag: CASE WHEN flag = 'Locked' THEN 'Locked'.
            new_flag = "Locked" if current.flag == "Locked" else target_flag
            self._components[xname] = replace(current, state=target, flag=new_flag)
            changed.append(xname)
        if not changed:
            return None
        if self.power_polling:
            self._track_polls(changed, target, now)
        return self._log_change(now, changed, target, requested_flag or "")

    def restore(self, states: Mapping[str, tuple[str, str]], *, now: float) -> list[StateChange]:
        """HSM restored from an older copy: ``states`` (normalized ID -> canonical (State,
        Flag)) come back at ``now``, with no start-state table (it is the database, not a
        StateData update); unknown IDs are ignored. Returns one change per value set."""
        groups: dict[tuple[str, str], list[str]] = {}
        for xname, (state, flag) in states.items():
            current = self._components.get(xname)
            if current is None or (current.state, current.flag) == (state, flag):
                continue
            self._components[xname] = replace(current, state=state, flag=flag)
            groups.setdefault((state, flag), []).append(xname)
            if self.power_polling:
                self._track_polls([xname], state, now)
        return [self._log_change(now, ids, state, flag) for (state, flag), ids in groups.items()]

    def patch_bulk_state_data(self, body: bytes, *, now: float) -> StateChange | None:
        """Handle the body of ``PATCH /State/Components/BulkStateData``.

        Args:
            body: the raw JSON body.
            now: the time of the update.

        Returns:
            As ``set_state``.

        Raises:
            HsmProblem: as HSM answers (400, or 500 for undecodable JSON).
        """
        update = decode_struct(decode_json(body), "smd.CompUpdate", COMP_UPDATE_FIELDS)
        refused = self._faults.refusal(update.get("ComponentIDs", []))
        if refused is not None:
            raise refused
        return self.set_state(
            update.get("ComponentIDs", []),
            update.get("State", ""),
            update.get("Flag", ""),
            force=update.get("Force", False),
            now=now,
        )

    def patch_state_data(self, xname: str, body: bytes, *, now: float) -> StateChange | None:
        """Handle ``PATCH /State/Components/{xname}/StateData``.

        Args:
            xname: the path segment, as received (URL-decoded).
            body: the raw JSON body; an ``ID`` in it must equal ``xname`` exactly.
            now: the time of the update.

        Returns:
            As ``set_state``.

        Raises:
            HsmProblem: as HSM answers.
        """
        update = decode_struct(decode_json(body), "smd.compPatchIn", COMP_PATCH_FIELDS)
        body_id = update.get("ID", "")
        if body_id and body_id != xname:
            raise HsmProblem(400, "ID in URL and PATCH body do not match")
        refused = self._faults.refusal([xname])
        if refused is not None:
            raise refused
        return self.set_state(
            [xname],
            update.get("State", ""),
            update.get("Flag", ""),
            force=update.get("Force", False),
            now=now,
        )

    def post_components(self, body: bytes, *, now: float) -> list[StateChange]:
        """Handle ``POST /State/Components``: create components, or overwrite with Force.

        New components are created as given (Nodes get HSM's default Role and NID). An
        existing component is left alone unless ``Force`` is true; then its State, Flag,
        Subtype, NetType, Arch and Class are overwritten, as HSM does.

        Args:
            body: ``{"Components": [{"ID": ..., "State": ..., ...}], "Force": bool}``.
            now: the time, for the change log.

        Returns:
            One change per (State, Flag) pair of components whose State or Flag changed.

        Raises:
            HsmProblem: 400 ``Missing Components`` or ``couldn't validate components: ...``,
                500 for undecodable JSON. Nothing is changed then.
        """
        post = decode_struct(decode_json(body), "sm.ComponentsPost", COMPONENTS_POST_FIELDS)
        entries: list[dict[str, Any]] = post.get("Components", [])
        if not entries or not entries[0].get("ID"):
            raise HsmProblem(400, "Missing Components")
        force: bool = post.get("Force", False)
        built = [self._component_from_post(entry) for entry in entries]
        groups: dict[tuple[str, str], list[str]] = {}
        for component in built:
            existing = self._components.get(component.id)
            if existing is None:
                self._components[component.id] = component
            elif force:
                component = replace(
                    existing,
                    state=component.state,
                    flag=component.flag,
                    subtype=component.subtype,
                    net_type=component.net_type,
                    arch=component.arch,
                    class_=component.class_,
                )
                self._components[component.id] = component
                if (existing.state, existing.flag) == (component.state, component.flag):
                    continue
            else:
                continue
            groups.setdefault((component.state, component.flag), []).append(component.id)
        return [self._log_change(now, ids, state, flag) for (state, flag), ids in groups.items()]

    @staticmethod
    def _component_from_post(entry: Mapping[str, Any]) -> Component:
        def invalid(why: str) -> HsmProblem:
            return HsmProblem(400, f"couldn't validate components: {why}")

        xname = verify_normalize(entry.get("ID", ""))
        if xname is None:
            raise invalid("invalid xname ID")
        state = normalize_state(entry.get("State", ""))
        if state is None:
            raise invalid("Argument was not a valid HMS State")
        flag = normalize_flag(entry.get("Flag", "") or "OK")
        if flag is None:
            raise invalid("Argument was not a valid HMS Flag")
        role = entry.get("Role", "")
        if role:
            role = BY_LOWER["role"].get(role.lower())
            if role is None:
                raise invalid("Argument was not a valid HMS Role")
        default = Component.node(xname, state=state, flag=flag)
        return replace(
            default,
            enabled=entry.get("Enabled", True),
            software_status=entry.get("SoftwareStatus", ""),
            role=role or default.role,
            sub_role=entry.get("SubRole", ""),
            nid=entry.get("NID", default.nid),
            subtype=entry.get("Subtype", ""),
            net_type=entry.get("NetType", "") or default.net_type,
            arch=entry.get("Arch", "") or default.arch,
            class_=entry.get("Class", ""),
            reservation_disabled=entry.get("ReservationDisabled", False),
            locked=entry.get("Locked", False),
        )

    def _log_change(self, now: float, ids: list[str], state: str, flag: str) -> StateChange:
        change = StateChange(self._next_change, now, tuple(ids), state, flag)
        self._next_change += 1
        self._changes.append(change)
        return change

    # -- power polling -----------------------------------------------------------------

    #: Seconds from a node's move to Standby to HSM's first power poll, then between polls.
    POLL_DELAY: Final = 30.0
    POLL_EVERY: Final = 10.0

    def _track_polls(self, changed: list[str], state: str, now: float) -> None:
        # HSM starts a poll job for each changed Node going to Standby and cancels the job of
        # any component moving to another state (hms-smd cmd/smd/state-change.go).
        for xname in changed:
            if state == "Standby" and self._components[xname].type == "Node":
                self._schedule_poll(xname, now + self.POLL_DELAY)
            else:
                self._poll_due.pop(xname, None)

    def _schedule_poll(self, xname: str, due: float) -> None:
        self._poll_due[xname] = due
        heapq.heappush(self._poll_heap, (due, xname))

    def set_power(self, ids: Iterable[str], *, on: bool) -> None:
        """Tell the model what Redfish would report about the power of some nodes.

        Args:
            ids: normalized xnames.
            on: the power state; all nodes start powered on.
        """
        if on:
            self._powered_off.difference_update(ids)
        else:
            self._powered_off.update(ids)

    def next_poll(self) -> float | None:
        """Return when ``poll`` next has something to do, or None."""
        while self._poll_heap:
            due, xname = self._poll_heap[0]
            if self._poll_due.get(xname) == due:
                return due
            heapq.heappop(self._poll_heap)
        return None

    def poll(self, now: float) -> list[StateChange]:
        """Run the power polls due by ``now``, in time order.

        A poll of a node still in Standby whose power is off sets it ``Off`` (HSM's own
        StateData update, so a Locked flag stays); a node powered on is polled again
        ``POLL_EVERY`` seconds later.

        Args:
            now: the current time.

        Returns:
            The state changes made, one per node, stamped with each poll's due time.
        """
        changes: list[StateChange] = []
        while (due := self.next_poll()) is not None and due <= now:
            _, xname = heapq.heappop(self._poll_heap)
            del self._poll_due[xname]
            component = self._components.get(xname)
            if component is None or component.state != "Standby":
                continue
            if xname in self._powered_off:
                change = self.set_state([xname], "Off", now=due)
                if change is not None:
                    changes.append(change)
            else:
                self._schedule_poll(xname, due + self.POLL_EVERY)
        return changes

    # -- faults ------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The current fault settings."""
        return self._faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the fault settings; the simulator calls this from its timeline."""
        self._faults = faults

    def update_faults(self, changes: Mapping[str, Any]) -> Faults:
        """Change some fault settings from a ``POST /mock/faults`` JSON object.

        Args:
            changes: any of ``mode``, ``error_rate``, ``latency_ms``, ``error_status``,
                ``refuse_ids`` (a list of IDs) and ``refuse_status``; omitted keys keep their
                value.

        Returns:
            The new settings.

        Raises:
            HsmProblem: 400 when a key is unknown or a value is out of range.
        """
        current = self._faults.to_json()
        for key, value in changes.items():
            if key not in current:
                raise HsmProblem(400, f"unknown fault setting {key!r}")
            if key == "mode" and not isinstance(value, str):
                raise HsmProblem(400, "mode must be a string")
            if key == "refuse_ids":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise HsmProblem(400, "refuse_ids must be a list of strings")
                current[key] = value
                continue
            if key not in ("mode", "refuse_ids") and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise HsmProblem(400, f"{key} must be a number")
            current[key] = value
        try:
            faults = Faults(
                mode=current["mode"],
                error_rate=float(current["error_rate"]),
                latency_ms=float(current["latency_ms"]),
                error_status=int(current["error_status"]),
                refuse_ids=frozenset(current["refuse_ids"]),
                refuse_status=int(current["refuse_status"]),
            )
        except ValueError as exc:
            raise HsmProblem(400, str(exc)) from None
        self._faults = faults
        return faults

    def decide_fault(self, path: str) -> FaultDecision:
        """Decide how an arriving request is to be faulted, per the current settings.

        Args:
            path: the request path.

        Returns:
            The delay and the error answer to use; requests outside ``/hsm/v2`` (for example
            the ``/mock`` control API) are never faulted.
        """
        if not (path == HSM_ROOT or path.startswith(HSM_ROOT + "/")):
            return NO_FAULT
        faults = self._faults
        delay = faults.latency_ms / 1000.0
        problem: HsmProblem | None = None
        sub = path[len(HSM_ROOT) :]
        is_state = sub.lower().startswith("/state")
        if faults.mode == "down":
            # An outage answers at once: a client should not wait out latency_ms for a 503.
            return FaultDecision(0.0, HsmProblem(503, "HSM is down (mock fault)"))
        elif faults.mode == "unready" and sub == "/service/ready":
            problem = HsmProblem(503, "HSM's database is unhealthy: mock fault unready")
        elif faults.mode == "error" and is_state:
            problem = HsmProblem(faults.error_status, "mock fault: error")
        elif is_state and faults.error_rate > 0.0 and self._rng.random() < faults.error_rate:
            problem = HsmProblem(faults.error_status, "mock fault: random error")
        if delay == 0.0 and problem is None:
            return NO_FAULT
        return FaultDecision(delay, problem)

    # -- recording ---------------------------------------------------------------------

    def record(
        self,
        *,
        time: float,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        body: bytes,
        status: int,
    ) -> RecordedRequest:
        """Remember one request.

        Args:
            time: its arrival time.
            method: the HTTP method.
            path: the path.
            query: its query parameters.
            body: the raw body; stored decoded when it is JSON, as text otherwise.
            status: the status answered.

        Returns:
            The record.
        """
        decoded: Any = None
        raw: str | None = None
        if body.strip():
            try:
                decoded = json.loads(body)
            except ValueError:
                raw = body.decode("utf-8", errors="replace")
        entry = RecordedRequest(
            index=self._next_request,
            time=time,
            method=method,
            path=path,
            query=MappingProxyType({key: tuple(values) for key, values in query.items()}),
            body=decoded,
            raw_body=raw,
            status=status,
        )
        self._next_request += 1
        self._requests.append(entry)
        return entry

    def requests(self, since: int = 0) -> list[RecordedRequest]:
        """Return the remembered requests whose index is ``since`` or later."""
        return _since(self._requests, since)

    def changes(self, since: int = 0) -> list[StateChange]:
        """Return the remembered state changes whose index is ``since`` or later."""
        return _since(self._changes, since)


_Entry = TypeVar("_Entry", RecordedRequest, StateChange)


def _since(log: deque[_Entry], since: int) -> list[_Entry]:
    if not log:
        return []
    return list(itertools.islice(log, max(0, since - log[0].index), None))

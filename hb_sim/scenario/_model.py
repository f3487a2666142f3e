"""The scenario model: what ``hb-sim run`` plays, as frozen dataclasses.

A ``Scenario`` is built only by ``load_scenario`` (``_scenario_load``), which validates
everything first, so a runner can trust it: times are seconds from the start of the run
(floats), states and flags are canonical, parameter names are canonical, selectors resolve to
at least one node, and the timeline is sorted by time (file order breaks ties). See
``docs/scenarios.md`` for the YAML format and what each field means to the runner.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

from ..hsm import Faults, MockHsm
from ._checks_model import Expectation, Invariants, _require
from ._selectors import Selection, Selector

__all__ = [
    "DEFAULT_RECONCILE",
    "AgentTiming",
    "Clock",
    "DelayHeartbeats",
    "Event",
    "Fleet",
    "HealPartition",
    "HsmBehavior",
    "HsmChange",
    "NodesDie",
    "NodesEvent",
    "NodesFlap",
    "NodesRevive",
    "NodesShutdown",
    "OperatorPatch",
    "ParamsPatch",
    "PartitionNodes",
    "PowerOff",
    "PowerOn",
    "RestoreHsm",
    "Scenario",
    "TrackerParams",
    "TrackerRestart",
]


#: The clocks a scenario can be played on (``hb-sim run --clock``).
Clock = Literal["virtual", "live"]

#: hbtd's reconcile interval when a scenario does not set one.
DEFAULT_RECONCILE: Final = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Fleet:
    """The simulated nodes.

    Attributes:
        nodes: normalized Node xnames, in order, without duplicates.
        cabinets: the cabinets they live in (``x1000``), in order of first appearance.
    """

    nodes: tuple[str, ...]
    cabinets: tuple[str, ...]

    def __post_init__(self) -> None:
        _require(len(set(self.nodes)) == len(self.nodes), "fleet nodes must be unique")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTiming:
    """How every simulated node agent sends heartbeats.

    Attributes:
        interval: seconds between heartbeats.
        jitter: each heartbeat is moved by a uniform random offset in ``[-jitter, +jitter]``.
        start_spread: the first heartbeats are spread uniformly over ``[0, start_spread)``.
        status: the ``Status`` field of the heartbeats.
        route: ``full`` posts ``/heartbeat`` with Component, Hostname and NID; ``xname``
            posts ``/heartbeat/{xname}`` with Status and Timestamp only.
    """

    interval: float = 3.0
    jitter: float = 0.0
    start_spread: float = 3.0
    status: str = "OK"
    route: Literal["full", "xname"] = "full"

    def __post_init__(self) -> None:
        _require(self.interval > 0, "interval must be more than 0")
        _require(0 <= self.jitter < self.interval, "jitter must be 0 or more, below interval")
        _require(self.start_spread >= 0, "start_spread must be 0 or more")
        _require(self.route in ("full", "xname"), "route must be full or xname")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerParams:
    """The tracker's parameters at the start of the run.

    Attributes:
        warntime: seconds without a heartbeat before Ready/Warning.
        errtime: seconds without a heartbeat before Standby/Alert.
        interval: the tracker's check interval in seconds.
        params: further ``PATCH /params`` values, canonical names (``Sm_timeout``) to the
            strings the API takes.
        reconcile_interval: seconds between the tracker's reconciliation rounds (0: off);
            None leaves the tracker's default (300 s) and sends nothing.
    """

    warntime: float = 10.0
    errtime: float = 20.0
    interval: float = 1.0
    params: Mapping[str, str] = field(default_factory=dict)
    reconcile_interval: float | None = None

    def __post_init__(self) -> None:
        _require(0 < self.warntime < self.errtime, "need 0 < warntime < errtime")
        _require(self.interval > 0, "interval must be more than 0")
        _require(
            self.reconcile_interval is None or self.reconcile_interval >= 0,
            "reconcile_interval must be 0 or more",
        )

    @property
    def reconcile(self) -> float:
        """The reconcile interval in force (the tracker's default when not set)."""
        return DEFAULT_RECONCILE if self.reconcile_interval is None else self.reconcile_interval

    def as_params(self) -> dict[str, str]:
        """Return everything as one ``PATCH /params`` body (values are strings)."""
        return {
            "Warntime": _seconds(self.warntime),
            "Errtime": _seconds(self.errtime),
            "Interval": _seconds(self.interval),
            **(
                {}
                if self.reconcile_interval is None
                else {"Reconcile_interval": _seconds(self.reconcile_interval)}
            ),
            **self.params,
        }


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class HsmBehavior:
    """How the mock HSM starts.

    Attributes:
        initial_state: State every fleet node has in HSM at the start (``On`` is what
            discovery leaves; the tracker's "started" moves it to Ready).
        initial_flag: Flag every fleet node has at the start.
        unknown: fleet nodes HSM does not know at all (their PATCHes are skipped silently),
            or None.
        auto_create: make unknown IDs spring into existence on their first PATCH.
        power_polling: model HSM's power polling: nodes a ``die`` event stopped are powered
            off (``revive`` powers them on), and HSM sets a powered-off node ``Off`` 30 s
            after it went to Standby (then polling every 10 s).
        faults: the fault settings at the start.
    """

    initial_state: str = "On"
    initial_flag: str = "OK"
    unknown: Selector | None = None
    auto_create: bool = False
    power_polling: bool = False
    faults: Faults = field(default_factory=Faults)


# -- timeline events ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _TimelineEvent:
    """What every timeline event has: when it happens and where it is written.

    Attributes:
        at: seconds from the start of the run.
        line: the line of the scenario file it comes from.
    """

    kind: ClassVar[str]
    at: float
    line: int

    def __post_init__(self) -> None:
        _require(self.at >= 0, "at must be 0 or more")
        self._check()

    def _check(self) -> None:
        """Check the event's own fields (``__post_init__`` has checked ``at``)."""

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        return self.kind


@dataclass(frozen=True, slots=True, kw_only=True)
class NodesEvent(_TimelineEvent):
    """A timeline event that acts on the heartbeats of a set of ``nodes``."""

    nodes: Selector

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        return f"{self.kind} {self.nodes.describe()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _SpreadNodesEvent(NodesEvent):
    """A nodes event whose acts ``spread`` > 0 spreads over ``[at, at + spread)`` (seeded)."""

    spread: float = 0.0

    def _check(self) -> None:
        _require(self.spread >= 0, "spread must be 0 or more")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodesDie(_SpreadNodesEvent):
    """The agents of ``nodes`` stop sending (a crash or power loss).

    ``spread`` > 0 spreads the stops uniformly over ``[at, at + spread)`` (seeded).
    """

    kind: ClassVar[str] = "die"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodesRevive(_SpreadNodesEvent):
    """The agents of ``nodes`` send again (a reboot finished); ``spread`` as for ``NodesDie``."""

    kind: ClassVar[str] = "revive"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodesFlap(NodesEvent):
    """``nodes`` go silent for ``down`` seconds, then beat again, every ``period``, ``count`` times.

    Cycle ``k`` (from 0) stops the agents at ``at + k * period`` and restarts them at
    ``at + k * period + down``.
    """

    kind: ClassVar[str] = "flap"
    period: float
    count: int
    down: float

    def _check(self) -> None:
        _require(0 < self.down < self.period, "need 0 < down < period")
        _require(self.count >= 1, "count must be at least 1")

    def cycles(self) -> list[tuple[float, float]]:
        """Return each cycle's (stop time, restart time), in order."""
        return [
            (self.at + k * self.period, self.at + k * self.period + self.down)
            for k in range(self.count)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionNodes(NodesEvent):
    """The network loses every heartbeat of ``nodes``; their agents keep sending."""

    kind: ClassVar[str] = "partition"


@dataclass(frozen=True, slots=True, kw_only=True)
class HealPartition(NodesEvent):
    """Heartbeats of ``nodes`` get through again."""

    kind: ClassVar[str] = "heal"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodesShutdown(NodesEvent):
    """The agents of ``nodes`` shut down cleanly: one heartbeat with Status ``Shutdown``, then
    silence. The tracker forgets them; their truth stays what it was."""

    kind: ClassVar[str] = "shutdown"


@dataclass(frozen=True, slots=True, kw_only=True)
class DelayHeartbeats(NodesEvent):
    """Heartbeats of ``nodes`` arrive ``by`` seconds late, for ``duration`` seconds.

    ``duration`` None means until the end of the run; ``by`` 0 ends earlier delays.
    """

    kind: ClassVar[str] = "delay"
    by: float
    duration: float | None = None

    def _check(self) -> None:
        _require(self.by >= 0, "by must be 0 or more")
        _require(self.duration is None or self.duration > 0, "duration must be more than 0")

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        return f"delay {self.nodes.describe()} by {self.by:g}s"


@dataclass(frozen=True, slots=True, kw_only=True)
class HsmChange(_TimelineEvent):
    """The mock HSM's fault settings become ``faults`` (all of them: unset means normal).

    Attributes:
        refuse: HSM refuses every StateData PATCH that names one of these nodes with
            ``faults.refuse_status`` (resolved when played: ``faults.refuse_ids`` is filled
            from it); None: no refusal.
    """

    kind: ClassVar[str] = "hsm"
    faults: Faults
    refuse: Selector | None = None

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        faults = self.faults
        extra = []
        if faults.latency_ms:
            extra.append(f"latency {faults.latency_ms / 1000:g}s")
        if faults.error_rate:
            extra.append(f"errors {faults.error_rate:.0%}")
        if self.refuse is not None:
            extra.append(f"refuses {self.refuse.describe()} ({faults.refuse_status})")
        return "hsm " + ", ".join([faults.mode, *extra])


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerOff(_SpreadNodesEvent):
    """``nodes`` lose power (a Redfish power-off event): HSM sets them ``Off`` (its table
    allows Off from every powered state) and their agents stop, if still running.

    ``spread`` as for ``NodesDie``.
    """

    kind: ClassVar[str] = "power_off"


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerOn(_SpreadNodesEvent):
    """``nodes`` get power back (a Redfish power-on event): HSM sets them ``On`` (not from
    Ready, as HSM's table says). Their agents do not start: a ``revive`` says when the boot
    is done."""

    kind: ClassVar[str] = "power_on"


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorPatch(_TimelineEvent):
    """An operator's StateData PATCH: HSM applies ``state``/``flag`` to ``nodes`` under its
    start-state table (``force`` lifts it, as HSM's ``Force`` does).

    Attributes:
        nodes: the components named.
        state: the canonical State.
        flag: the canonical Flag.
        force: HSM's ``Force``.
    """

    kind: ClassVar[str] = "operator"
    nodes: Selector
    state: str
    flag: str = "OK"
    force: bool = False

    def _check(self) -> None:
        _require(
            self.force or self.state not in ("Unknown", "Empty", "Populated"),
            f"{self.state} needs force (HSM refuses it otherwise)",
        )

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        forced = " (forced)" if self.force else ""
        return f"operator sets {self.nodes.describe()} {self.state}/{self.flag}{forced}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreHsm(_TimelineEvent):
    """HSM is restored from an older copy: every fleet node's State and Flag of ``source``
    (seconds from the start, before ``at``) come back."""

    kind: ClassVar[str] = "hsm_restore"
    source: float

    def _check(self) -> None:
        _require(0 <= self.source < self.at, "from must be before at")

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        return f"HSM restored from {self.source:g}s"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerRestart(_TimelineEvent):
    """The tracker stops and starts again ``downtime`` seconds later, keeping its store."""

    kind: ClassVar[str] = "tracker_restart"
    downtime: float = 0.0

    def _check(self) -> None:
        _require(self.downtime >= 0, "downtime must be 0 or more")

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        return f"tracker restart ({self.downtime:g}s away)"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamsPatch(_TimelineEvent):
    """``PATCH /params`` on the tracker with ``params`` (canonical names, string values)."""

    kind: ClassVar[str] = "params"
    params: Mapping[str, str]

    def describe(self) -> str:
        """A short label for the timeline picture and the log."""
        return "params " + ", ".join(f"{k}={v}" for k, v in self.params.items())


Event = (
    NodesDie
    | NodesRevive
    | NodesFlap
    | PartitionNodes
    | HealPartition
    | NodesShutdown
    | DelayHeartbeats
    | HsmChange
    | TrackerRestart
    | ParamsPatch
    | PowerOff
    | PowerOn
    | OperatorPatch
    | RestoreHsm
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A validated scenario.

    Attributes:
        name: short name (used for reports and JUnit).
        description: free text.
        path: the file it was loaded from.
        seed: seed of every random choice (random selectors, jitter, spreads, HSM errors).
        duration: seconds of (virtual or live) time the run lasts.
        fleet: the nodes.
        agents: heartbeat timing.
        tracker: tracker parameters at the start.
        hsm: the mock HSM at the start.
        timeline: events sorted by time (stable).
        expectations: point checks, in file order.
        invariants: whole-run checks.
        named: every named selector, by name.
        clocks: the clocks the scenario is meant for; a live-only one (``("live",)``) is
            skipped, not played, in virtual time.
        line: the line of its ``name``, where reports point for the scenario as a whole.
    """

    name: str
    description: str
    path: str
    seed: int
    duration: float
    fleet: Fleet
    agents: AgentTiming
    tracker: TrackerParams
    hsm: HsmBehavior
    timeline: tuple[Event, ...]
    expectations: tuple[Expectation, ...]
    invariants: Invariants
    named: Mapping[str, Selector]
    clocks: tuple[Clock, ...] = ("virtual", "live")
    line: int = 1

    def __post_init__(self) -> None:
        _require(self.duration > 0, "duration must be more than 0")
        _require(bool(self.clocks), "a scenario is meant for at least one clock")
        _require(bool(self.fleet.nodes), "the fleet needs at least one node")
        _require(
            all(a.at <= b.at for a, b in itertools.pairwise(self.timeline)),
            "the timeline must be sorted by time",
        )

    def selection(self) -> Selection:
        """Return a resolver for this scenario's selectors (keep one per run: it caches)."""
        return Selection(self.fleet.nodes, self.seed, self.named)

    def mock_hsm(self, selection: Selection | None = None) -> MockHsm:
        """Build the mock HSM as the scenario starts it.

        Args:
            selection: the run's resolver, to share its cache; a new one when None.

        Returns:
            A ``MockHsm`` holding every fleet node (except ``hsm.unknown``) at the initial
            State and Flag, with the initial faults, seeded with the scenario seed.
        """
        selection = selection or self.selection()
        unknown = set(selection.resolve(self.hsm.unknown)) if self.hsm.unknown else set()
        return MockHsm(
            nodes=[name for name in self.fleet.nodes if name not in unknown],
            node_state=self.hsm.initial_state,
            node_flag=self.hsm.initial_flag,
            auto_create=self.hsm.auto_create,
            power_polling=self.hsm.power_polling,
            faults=self.hsm.faults,
            seed=self.seed,
        )

"""Scenarios: the model, the YAML loader (one reader per section), selectors, durations."""

from __future__ import annotations

from .._public import claim as _claim
from ._checks_model import DEFAULT_LATENESS, Expectation, Invariants
from ._durations import format_duration, parse_duration
from ._load import MAX_FLEET, PARAM_NAMES, load_scenario, load_scenario_text
from ._model import (
    DEFAULT_RECONCILE,
    AgentTiming,
    DelayHeartbeats,
    Event,
    Fleet,
    HealPartition,
    HsmBehavior,
    HsmChange,
    NodesDie,
    NodesEvent,
    NodesFlap,
    NodesRevive,
    NodesShutdown,
    OperatorPatch,
    ParamsPatch,
    PartitionNodes,
    PowerOff,
    PowerOn,
    RestoreHsm,
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

__all__ = [
    "DEFAULT_LATENESS",
    "DEFAULT_RECONCILE",
    "MAX_FLEET",
    "PARAM_NAMES",
    "AgentTiming",
    "AllNodes",
    "Cabinets",
    "DelayHeartbeats",
    "Event",
    "Except",
    "Expectation",
    "Fleet",
    "Glob",
    "HealPartition",
    "HsmBehavior",
    "HsmChange",
    "Invariants",
    "Named",
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
    "RandomNodes",
    "Ref",
    "RestoreHsm",
    "Scenario",
    "Selection",
    "Selector",
    "TrackerParams",
    "TrackerRestart",
    "Union",
    "XnameSet",
    "format_duration",
    "load_scenario",
    "load_scenario_text",
    "parse_duration",
]


_claim(__name__, [n for n in __all__ if n in globals()], globals())

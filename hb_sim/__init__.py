"""hb_sim: a faithful mock HSM and failure scenarios for heartbeat trackers.

Public names are re-exported here; the modules behind them are private.
"""

from ._durations import format_duration, parse_duration
from ._errors import HbSimError, HsmProblem, ScenarioError, ScenarioIssue
from ._hsm_app import create_mock_hsm_app
from ._hsm_states import FLAGS, START_STATES, STATES, allowed_start_states, needs_force
from ._mock_hsm import (
    Component,
    FaultDecision,
    FaultMode,
    Faults,
    MockHsm,
    RecordedRequest,
    StateChange,
)
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
from ._scenario_load import MAX_FLEET, PARAM_NAMES, load_scenario, load_scenario_text
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
from ._serve import run_power_polling, serve_mock_hsm
from ._xnames import bogus_nid, cabinet_of, expand_range, topology_xnames

__all__ = [
    "FLAGS",
    "MAX_FLEET",
    "PARAM_NAMES",
    "START_STATES",
    "STATES",
    "AgentTiming",
    "AllNodes",
    "Cabinets",
    "Component",
    "DelayHeartbeats",
    "Event",
    "Except",
    "Expectation",
    "FaultDecision",
    "FaultMode",
    "Faults",
    "Fleet",
    "Glob",
    "HbSimError",
    "HealPartition",
    "HsmBehavior",
    "HsmChange",
    "HsmProblem",
    "Invariants",
    "MockHsm",
    "Named",
    "NodesDie",
    "NodesFlap",
    "NodesRevive",
    "ParamsPatch",
    "PartitionNodes",
    "RandomNodes",
    "RecordedRequest",
    "Ref",
    "Scenario",
    "ScenarioError",
    "ScenarioIssue",
    "Selection",
    "Selector",
    "StateChange",
    "TrackerParams",
    "TrackerRestart",
    "Union",
    "XnameSet",
    "allowed_start_states",
    "bogus_nid",
    "cabinet_of",
    "create_mock_hsm_app",
    "expand_range",
    "format_duration",
    "load_scenario",
    "load_scenario_text",
    "needs_force",
    "parse_duration",
    "run_power_polling",
    "serve_mock_hsm",
    "topology_xnames",
]

# Public objects say they come from hb_sim, not from the private module that defines them.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("hb_sim._"):
        _obj.__module__ = "hb_sim"
del _name, _obj

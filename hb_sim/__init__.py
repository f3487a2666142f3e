"""hb_sim: a faithful mock HSM and failure scenarios for heartbeat trackers.

Public names are re-exported here; the modules behind them are private.
"""

from ._checks import RunRecord, Verdict, judge
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
from ._report import junit_xml, timeline_svg, verdict_table, write_report
from ._runner import RunOptions, RunResult, TimelineMark, default_engine, run_scenario
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
from ._snapshot import SimSnapshot, SnapshotTransition, to_view_snapshot
from ._truth import ParamEpoch, Truth, TruthChange
from ._view import LiveView, SnapshotView, run_refresher
from ._view_model import COUNT_ORDER, CellState, RecentTransition, ViewSnapshot, hsm_count_label
from ._xnames import bogus_nid, cabinet_of, expand_range, topology_xnames

__all__ = [
    "COUNT_ORDER",
    "FLAGS",
    "MAX_FLEET",
    "PARAM_NAMES",
    "START_STATES",
    "STATES",
    "AgentTiming",
    "AllNodes",
    "Cabinets",
    "CellState",
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
    "LiveView",
    "MockHsm",
    "Named",
    "NodesDie",
    "NodesFlap",
    "NodesRevive",
    "ParamEpoch",
    "ParamsPatch",
    "PartitionNodes",
    "RandomNodes",
    "RecentTransition",
    "RecordedRequest",
    "Ref",
    "RunOptions",
    "RunRecord",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioIssue",
    "Selection",
    "Selector",
    "SimSnapshot",
    "SnapshotTransition",
    "SnapshotView",
    "StateChange",
    "TimelineMark",
    "TrackerParams",
    "TrackerRestart",
    "Truth",
    "TruthChange",
    "Union",
    "Verdict",
    "ViewSnapshot",
    "XnameSet",
    "allowed_start_states",
    "bogus_nid",
    "cabinet_of",
    "create_mock_hsm_app",
    "default_engine",
    "expand_range",
    "format_duration",
    "hsm_count_label",
    "judge",
    "junit_xml",
    "load_scenario",
    "load_scenario_text",
    "needs_force",
    "parse_duration",
    "run_power_polling",
    "run_refresher",
    "run_scenario",
    "serve_mock_hsm",
    "timeline_svg",
    "to_view_snapshot",
    "topology_xnames",
    "verdict_table",
    "write_report",
]

# Public objects say they come from hb_sim, not from the private module that defines them.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("hb_sim._"):
        _obj.__module__ = "hb_sim"
del _name, _obj

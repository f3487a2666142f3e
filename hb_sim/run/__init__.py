"""Playing scenarios: one timeline player, a virtual and a live clock, the truth and the checks.

``run_scenario`` plays a scenario and returns a ``RunResult``; the ``Truth`` says what each
node's HSM state should be, ``judge`` turns a ``RunRecord`` into verdicts, and the report
functions write them for people and CI.
"""

from __future__ import annotations

from hbtd_server.core import export_names as _export_names

from ._checks import judge
from ._entry import run_scenario
from ._player import HEARTBEATING_SAMPLE, Player, Rig
from ._record import HsmHistory, RunRecord, Verdict
from ._report import (
    junit_document,
    junit_note,
    junit_suite,
    junit_xml,
    timeline_svg,
    verdict_table,
    verdict_text,
    write_report,
)
from ._result import (
    EngineFactory,
    Outcome,
    Progress,
    ProgressHook,
    RunOptions,
    RunResult,
    SnapshotHook,
    TimelineMark,
    default_engine,
)
from ._snapshot import SimSnapshot, SnapshotBuilder, SnapshotTransition, to_view_snapshot
from ._timeline import faulted_intervals, param_epochs, spread_times
from ._truth import NEVER, ParamEpoch, Truth, TruthChange
from ._virtual import VIRTUAL_HSM, run_virtual, tracker_params

__all__ = [
    "HEARTBEATING_SAMPLE",
    "NEVER",
    "VIRTUAL_HSM",
    "EngineFactory",
    "HsmHistory",
    "Outcome",
    "ParamEpoch",
    "Player",
    "Progress",
    "ProgressHook",
    "Rig",
    "RunOptions",
    "RunRecord",
    "RunResult",
    "SimSnapshot",
    "SnapshotBuilder",
    "SnapshotHook",
    "SnapshotTransition",
    "TimelineMark",
    "Truth",
    "TruthChange",
    "Verdict",
    "default_engine",
    "faulted_intervals",
    "judge",
    "junit_document",
    "junit_note",
    "junit_suite",
    "junit_xml",
    "param_epochs",
    "run_scenario",
    "run_virtual",
    "spread_times",
    "timeline_svg",
    "to_view_snapshot",
    "tracker_params",
    "verdict_table",
    "verdict_text",
    "write_report",
]

_export_names(globals())

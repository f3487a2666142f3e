"""hb_sim: a faithful mock HSM and failure scenarios for heartbeat trackers.

The simulator is a few packages, each listing its public names in its ``__init__``:
``scenario`` (the YAML model and loader), ``hsm`` (the mock HSM), ``fleet`` (simulated
agents), ``run`` (the timeline player, the truth, the checks and the report), ``view`` and
``watch`` (the live view), plus ``errors``, ``xnames`` and ``ports``. Import from them.

Only the few names needed to load a scenario, play it and write its report are re-exported
here, and they are imported on first use, so that ``hb-sim --version`` and ``hb-sim validate``
do not load the web stack.
"""

from __future__ import annotations

import typing as _typing

from hbtd_server.core import export_names as _export_names

if _typing.TYPE_CHECKING:
    from .errors import HbSimError, ScenarioError
    from .run import RunOptions, RunResult, run_scenario, write_report
    from .scenario import Scenario, load_scenario, load_scenario_text

__all__ = [
    "HbSimError",
    "RunOptions",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "load_scenario_text",
    "run_scenario",
    "write_report",
]

__getattr__ = _export_names(
    globals(),
    lazy={
        ".errors": ("HbSimError", "ScenarioError"),
        ".run": ("RunOptions", "RunResult", "run_scenario", "write_report"),
        ".scenario": ("Scenario", "load_scenario", "load_scenario_text"),
    },
)

"""The scenarios the repository ships, for the tests that load or play them."""

from __future__ import annotations

from tests import REPO

__all__ = ["ISSUE_SCENARIOS", "SCENARIO_DIR", "SCENARIO_FILES"]

#: The repository's ``scenarios`` folder.
SCENARIO_DIR = REPO / "scenarios"
#: Every scenario file in it, sorted.
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.yaml"))
#: The ten scenarios issue #4 asked for, by name (and file stem).
ISSUE_SCENARIOS = frozenset(
    {
        "steady-state-10k",
        "single-node-death",
        "cabinet-power-loss",
        "flapping-node",
        "hsm-outage-during-failure-wave",
        "slow-hsm",
        "tracker-restart",
        "partition-heals",
        "params-change-midrun",
        "reboot-storm",
    }
)

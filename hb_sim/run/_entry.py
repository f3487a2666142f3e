"""``run_scenario``: play a scenario on the clock the options ask for, and judge it."""

from __future__ import annotations

import dataclasses
from functools import partial

import trio

from ..scenario import Scenario
from ._live import run_live
from ._result import RunOptions, RunResult
from ._virtual import run_virtual

__all__ = ["run_scenario"]


def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Play ``scenario`` and judge it.

    Args:
        scenario: a validated scenario.
        options: how to play it; virtual time by default.

    Returns:
        The result, verdicts included.

    Raises:
        HbtdError: the scenario's tracker parameters are refused by the tracker.
        HbSimError: the scenario cannot be played this way (for example a tracker restart
            against ``--target``).
    """
    options = options or RunOptions()
    if options.seed is not None:
        scenario = dataclasses.replace(scenario, seed=options.seed)
    if options.clock == "virtual":
        return run_virtual(scenario, options)
    return trio.run(partial(run_live, scenario, options))

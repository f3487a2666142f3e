"""What a scenario's timeline implies, read before or after a run (no clock, no I/O)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypedDict

from ..hsm import Faults
from ..scenario import HsmChange, NodesDie, NodesRevive, ParamsPatch, PowerOff, PowerOn, Scenario
from ._truth import ParamEpoch

__all__ = ["Cadence", "cadence", "faulted_intervals", "param_epochs", "spread_times"]


class Cadence(TypedDict):
    """How a scenario's agents beat, as either fleet takes it (``**cadence(scenario)``)."""

    interval: float
    jitter: float
    start_spread: float
    status: str
    rng: random.Random


def cadence(scenario: Scenario) -> Cadence:
    """The agents' timing and status, and the fleet's random stream, seeded alike in both
    clocks so that a live run jitters as its virtual twin does."""
    agents = scenario.agents
    return Cadence(
        interval=agents.interval,
        jitter=agents.jitter,
        start_spread=agents.start_spread,
        status=agents.status,
        rng=random.Random(f"{scenario.seed}/fleet"),
    )


def param_epochs(scenario: Scenario) -> list[ParamEpoch]:
    """Warntime and Errtime over the run, as the timeline's ``params`` events change them."""
    warn, err = scenario.tracker.warntime, scenario.tracker.errtime
    epochs = [ParamEpoch(0.0, warn, err)]
    for event in scenario.timeline:
        if isinstance(event, ParamsPatch):
            warn = float(event.params.get("Warntime", warn))
            err = float(event.params.get("Errtime", err))
            epochs.append(ParamEpoch(event.at, warn, err))
    return epochs


def faulted_intervals(scenario: Scenario) -> list[tuple[float, float]]:
    """When HSM is down, unready, answering errors or refusing some IDs, per the scenario."""
    out: list[tuple[float, float]] = []
    since = 0.0 if _faulted(scenario.hsm.faults) else None
    for event in scenario.timeline:
        if not isinstance(event, HsmChange):
            continue
        bad = _faulted(event.faults) or event.refuse is not None
        if bad and since is None:
            since = event.at
        elif not bad and since is not None:
            out.append((since, event.at))
            since = None
    if since is not None:
        out.append((since, scenario.duration))
    return out


def _faulted(faults: Faults) -> bool:
    return faults.mode != "ok"


def spread_times(
    scenario: Scenario, event: NodesDie | NodesRevive | PowerOff | PowerOn, nodes: Sequence[str]
) -> list[tuple[float, list[str]]]:
    """When each node of a die/revive/power event acts: ``at``, or seeded times over ``spread``."""
    if event.spread <= 0:
        return [(event.at, list(nodes))]
    rng = random.Random(f"{scenario.seed}/spread/{event.line}")
    groups: dict[float, list[str]] = {}
    for xname in nodes:
        groups.setdefault(event.at + rng.uniform(0.0, event.spread), []).append(xname)
    return sorted(groups.items())

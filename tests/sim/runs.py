"""A failing run of a shipped scenario, played once, and a verdict table as plain text."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache

from rich.console import Console

from hb_sim import RunOptions, RunResult, load_scenario, run_scenario
from hb_sim.run import EngineFactory, verdict_table
from hbtd_server import Engine
from hbtd_server.core import HsmLedger, Kind, Params, Transition
from tests.sim.shipped import SCENARIO_DIR

__all__ = ["NeverWarns", "engine_with", "failing", "verdict_text"]


class NeverWarns(Engine):
    """Drops every "might be dead" transition."""

    def _publish(self, transitions: Sequence[Transition]) -> None:
        super()._publish([t for t in transitions if t.kind is not Kind.WARNING])


def engine_with(ledger: Callable[[], HsmLedger]) -> EngineFactory:
    """An engine factory for ``RunOptions``: hbtd's ``Engine`` with the ledger ``ledger()``."""

    def factory(params: Params, clock: Callable[[], float]) -> Engine:
        return Engine(params, clock=clock, ledger=ledger())

    return factory


@cache
def failing() -> RunResult:
    """``single-node-death`` played against ``NeverWarns``: its warning check fails."""
    return run_scenario(
        load_scenario(SCENARIO_DIR / "single-node-death.yaml"),
        RunOptions(engine_factory=lambda p, c: NeverWarns(p, clock=c)),
    )


def verdict_text(result: RunResult, width: int = 160) -> str:
    """The verdict table as a ``width``-column terminal without colour shows it."""
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(verdict_table(result))
    return console.export_text()

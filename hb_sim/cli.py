"""The ``hb-sim`` command line: ``mock-hsm`` and ``validate`` (``run`` and ``watch`` to come).

Exit codes follow the simulator issue: 0 when all is well, 1 when an expectation fails, 2 for
a bad scenario or bad usage.
"""

from __future__ import annotations

import itertools
import logging
import signal
import sys
from functools import partial

import click
import trio

from ._errors import ScenarioError
from ._mock_hsm import Faults, MockHsm
from ._scenario_load import load_scenario
from ._serve import serve_mock_hsm
from ._xnames import expand_range, topology_xnames

__all__ = ["main"]

log = logging.getLogger("hb_sim")

#: Exit status for a bad scenario or bad usage (click uses 2 for usage errors too).
EXIT_INVALID = 2


@click.group()
@click.version_option(package_name="hbtd-py")
def main() -> None:
    """hb-sim: replay failure scenarios against a heartbeat tracker and a mock HSM."""


def _nodes_from_specs(specs: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for spec in specs:
        if spec.strip().isdigit():
            count = int(spec)
            # 256 nodes per cabinet with the default EX layout; round the cabinets up.
            cabinets = max(1, -(-count // 256))
            names.extend(itertools.islice(topology_xnames(cabinets=cabinets), count))
            continue
        try:
            names.extend(expand_range(spec.strip()))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--nodes") from None
    return names


@main.command("mock-hsm")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=27779,
    show_default=True,
    help="TCP port; 0 picks a free one (the log line tells which).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--fail-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Probability that a /hsm/v2/State request answers --fail-status.",
)
@click.option(
    "--fail-status",
    type=click.IntRange(400, 599),
    default=500,
    show_default=True,
    help="HTTP status of injected errors.",
)
@click.option(
    "--latency",
    type=click.FloatRange(0.0),
    default=0.0,
    show_default=True,
    metavar="MS",
    help="Delay before every /hsm/v2 answer, in milliseconds.",
)
@click.option(
    "--nodes",
    "node_specs",
    multiple=True,
    metavar="SPEC",
    help="Pre-create nodes: a range such as x1000c[0-7]s[0-7]b[0-1]n[0-1], or a "
    "count N for the first N nodes of x1000, x1001, ... (256 per cabinet). "
    "Repeatable.",
)
@click.option(
    "--state", "node_state", default="On", show_default=True, help="State of pre-created nodes."
)
@click.option(
    "--auto-create",
    is_flag=True,
    help="Create unknown IDs as On components on their first PATCH (real HSM skips them silently).",
)
@click.option(
    "--power-polling",
    is_flag=True,
    help="Model HSM's power polling: a node in Standby whose power is off (POST /mock/power) "
    "is set Off 30 s later.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the generator behind --fail-rate.",
)
def mock_hsm(
    port: int,
    host: str,
    fail_rate: float,
    fail_status: int,
    latency: float,
    node_specs: tuple[str, ...],
    node_state: str,
    auto_create: bool,
    power_polling: bool,
    seed: int,
) -> None:
    """Serve a mock HSM (cray-smd) that follows the real StateData rules.

    HSM's API is under /hsm/v2; a control API (request log, state, faults, reset) is under
    /mock. See docs/mock-hsm.md. Stops cleanly on SIGINT or SIGTERM.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("hb_sim.mock_hsm.hypercorn").setLevel(logging.WARNING)
    try:
        model = MockHsm(
            nodes=_nodes_from_specs(node_specs),
            node_state=node_state,
            auto_create=auto_create,
            power_polling=power_polling,
            faults=Faults(error_rate=fail_rate, latency_ms=latency, error_status=fail_status),
            seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    trio.run(partial(_serve_until_signal, model, host=host, port=port))


async def _serve_until_signal(model: MockHsm, *, host: str, port: int) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def until_signal() -> None:
            async for signum in signals:
                log.info("mock HSM stopping on %s", signal.Signals(signum).name)
                return

        async with trio.open_nursery() as nursery:
            urls = await nursery.start(
                partial(serve_mock_hsm, model, host=host, port=port, shutdown_trigger=until_signal)
            )
            for url in urls:
                log.info(
                    "mock HSM listening on %s/hsm/v2 (%d components, control API at %s/mock)",
                    url,
                    len(model.components),
                    url,
                )
    log.info("mock HSM stopped")


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check scenario files; print every problem with its file, line and field.

    Exits 0 when all are valid, 2 otherwise.
    """
    bad = 0
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            continue
        click.echo(
            f"{path}: ok ({scenario.name}: {len(scenario.fleet.nodes)} nodes, "
            f"{len(scenario.timeline)} events, {len(scenario.expectations)} expectations)"
        )
    if bad:
        click.echo(f"{bad} of {len(files)} scenario(s) invalid", err=True)
        sys.exit(EXIT_INVALID)

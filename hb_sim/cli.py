"""The ``hb-sim`` command line: ``run``, ``validate``, ``mock-hsm`` and ``watch``.

Exit codes (docs/scenarios.md, "Exit status"): 0 when all is well, 1 when a check fails, 2
for a bad scenario or bad usage, 3 when a run is inconclusive (its own fleet fell behind), 130
when interrupted (Ctrl-C). Heavy modules (the web stack, rich, httpx, the runner) are imported
by the commands that need them, so ``hb-sim --version`` and ``hb-sim validate`` start fast.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import click

from hbtd_server.core import LOG_FORMATS, LogFormat, log_formatter, plural
from hbtd_server.usage import OneLineUsage

from .errors import ScenarioError
from .xnames import expand_range, topology_xnames

if TYPE_CHECKING:
    from .hsm import MockHsm
    from .run import Progress, SimSnapshot
    from .scenario import Clock, Scenario

__all__ = ["EXIT_FAILED", "EXIT_INCONCLUSIVE", "EXIT_INTERRUPTED", "EXIT_INVALID", "main"]

log = logging.getLogger("hb_sim")

#: Exit status when an expectation or invariant fails.
EXIT_FAILED = 1
#: Exit status for a bad scenario or bad usage (click uses 2 for usage errors too).
EXIT_INVALID = 2
#: Exit status when a check failed but the run's own fleet fell behind.
EXIT_INCONCLUSIVE = 3
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
#: Least wall seconds between two progress lines.
PROGRESS_GAP = 10.0


class _LazyGroup(OneLineUsage, click.Group):
    """A group whose subcommands defined elsewhere are imported when first used; a usage
    error is one line."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {"watch": (".watch", "watch")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, name = self.lazy[cmd_name]
            command: click.Command = getattr(importlib.import_module(module, __package__), name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hbtd-py")
def main() -> None:
    """hb-sim: replay failure scenarios against a heartbeat tracker and a mock HSM.

    Exit status: 0 all well, 1 a check failed, 2 bad scenario or usage, 3 inconclusive (the
    simulator's own fleet fell behind), 130 interrupted.
    """


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
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    help="text: time, level, logger, message (as hbtd writes); json: one object a line.",
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
    log_format: LogFormat,
) -> None:
    """Serve a mock HSM (cray-smd) that follows the real StateData rules.

    HSM's API is under /hsm/v2; a control API (request log, state, faults, reset) is under
    /mock. See docs/mock-hsm.md. Stops cleanly on SIGINT or SIGTERM.
    """
    import trio

    from .hsm import Faults, MockHsm

    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(log_format))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
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
    import trio

    from .hsm import serve_mock_hsm

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
                    "mock HSM listening on %s/hsm/v2 (%s, control API at %s/mock)",
                    url,
                    plural(len(model.components), "component"),
                    url,
                )
    log.info("mock HSM stopped")


@main.command("validate")
@click.argument("paths", metavar="SCENARIO.yaml|FOLDER...", nargs=-1, required=True)
def validate(paths: tuple[str, ...]) -> None:
    """Check scenario files (a folder: the scenario files in it); print every problem with
    its file, line and field.

    Exits 0 when all are valid, 2 otherwise.
    """
    from ._detect import scenario_files
    from .scenario import load_scenario

    files = [str(f) for f in scenario_files(Path(p) for p in paths)]
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
        click.echo(f"{bad} of {plural(len(files), 'scenario')} invalid", err=True)
        sys.exit(EXIT_INVALID)


@main.command("run")
@click.argument("paths", metavar="SCENARIO.yaml|FOLDER...", nargs=-1, required=True)
@click.option(
    "--clock",
    type=click.Choice(["virtual", "live"]),
    default="virtual",
    show_default=True,
    help="virtual: in process on trio's MockClock, deterministic. live: real sockets, a real "
    "hbtd process (or --target), real time.",
)
@click.option(
    "--target",
    metavar="URL",
    help="Live only: play against this running tracker (http://HOST:PORT) instead of "
    "starting hbtd.",
)
@click.option(
    "--hsm",
    "hsm_url",
    metavar="URL",
    help="Live with --target: the mock HSM (hb-sim mock-hsm) the target reports to "
    "(http://HOST:PORT); its /mock API is read and driven. Without it the runner serves "
    "one on a free port and PATCHes the target's Sm_url to it.",
)
@click.option(
    "--keep-params",
    is_flag=True,
    help="With --target: leave the scenario's parameters on the tracker at the end (by "
    "default those the run changed are set back, however it ends).",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False),
    help="Write JUnit XML here: one test suite per scenario.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False),
    help="Write result.json, junit.xml, timeline.svg (and the tracker's log) here; with "
    "several scenarios, in a folder per scenario.",
)
@click.option("--seed", type=int, help="Override the scenarios' seed.")
@click.option("--no-live-view", is_flag=True, help="Do not show the live view.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Play this many virtual-time scenarios at once, in worker processes (live time "
    "plays one at a time).",
)
def run(
    paths: tuple[str, ...],
    clock: str,
    target: str | None,
    hsm_url: str | None,
    keep_params: bool,
    junit_file: str | None,
    report_dir: str | None,
    seed: int | None,
    no_live_view: bool,
    jobs: int,
) -> None:
    """Play scenarios against a tracker and the mock HSM, then judge them.

    Takes scenario files and folders (searched for scenario files). Every file is validated
    before any is played. Prints the verdicts of each scenario with its summary line; with
    several, a summary table comes last. Exits 0 when every expectation and invariant holds,
    1 when one fails, 2 for a bad scenario or bad usage (or one that cannot be played this
    way), 3 when none fails but one is inconclusive (the simulator's own fleet fell behind),
    130 when interrupted. A scenario meant for the other clock only is skipped.
    """
    from ._batch import load_all
    from ._detect import scenario_files

    if clock == "virtual" and (target or hsm_url):
        raise click.UsageError("--target and --hsm need --clock live")
    if hsm_url and not target:
        raise click.UsageError("--hsm goes with --target")
    if keep_params and not target:
        raise click.UsageError("--keep-params goes with --target")
    files = list(scenario_files(Path(p) for p in paths))
    if not files:
        raise click.UsageError(f"no scenario file in {' '.join(paths)}")
    try:
        scenarios = load_all(files)
    except ScenarioError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        bad = len({issue.file for issue in exc.issues})
        click.echo(f"{bad} of {len(files)} scenario(s) invalid: nothing played", err=True)
        sys.exit(EXIT_INVALID)
    sys.exit(
        _run_all(
            scenarios,
            clock="live" if clock == "live" else "virtual",
            target=target,
            hsm_url=hsm_url,
            junit_file=junit_file,
            report_dir=report_dir,
            seed=seed,
            live_view=not no_live_view,
            jobs=jobs,
            keep_params=keep_params,
        )
    )


def _run_all(
    scenarios: list[Scenario],
    *,
    clock: Clock,
    target: str | None,
    hsm_url: str | None,
    junit_file: str | None,
    report_dir: str | None,
    seed: int | None,
    live_view: bool,
    jobs: int,
    keep_params: bool,
) -> int:
    import dataclasses
    import time
    import xml.etree.ElementTree as ET

    from rich.console import Console

    from ._batch import Hooks, Played, Settings, exit_status, play_all, summary_table
    from .run import junit_document

    terminal = sys.stdout.isatty()
    console = Console() if terminal else None
    many = len(scenarios) > 1
    workers = jobs if clock == "virtual" else 1
    base = Settings(
        clock=clock,
        target=target,
        hsm=hsm_url,
        seed=seed,
        keep_params=keep_params,
        terminal=terminal,
        width=console.width if console else 80,
        color_system=console.color_system if console else None,
    )
    jobs_list = [
        (
            scenario.path,
            dataclasses.replace(
                base,
                report_dir=str(Path(report_dir, scenario.name) if many else Path(report_dir))
                if report_dir
                else None,
            ),
        )
        for scenario in scenarios
    ]
    started = time.perf_counter()
    shown: list[Played] = []

    def show(played: Played) -> None:
        shown.append(played)
        click.echo(played.block)
        if many:
            click.echo()

    @contextlib.contextmanager
    def hooks() -> Iterator[Hooks]:
        # A live view needs a terminal and the HSM's state (a remote HSM has none to show).
        view = live_view and terminal
        with _live_view() if view else contextlib.nullcontext(None) as on_snapshot:
            yield Hooks(
                on_snapshot=on_snapshot,
                on_progress=None if view and not hsm_url else _progress_line,
                progress_min_wall_gap=PROGRESS_GAP,
                on_note=_note_line,
            )

    try:
        played = play_all(jobs_list, workers, show, hooks)
    except BaseException as exc:
        # trio hands Ctrl-C over as KeyboardInterrupt, often inside a nursery's group.
        if not _interrupted(exc):
            raise
        left = [s.name for s in scenarios[len(shown) :]]
        which = left[0] if len(left) == 1 else f"{len(left)} scenarios"
        click.echo(f"hb-sim: interrupted, {which} not judged", err=True)
        return EXIT_INTERRUPTED
    if junit_file:
        suites = [ET.fromstring(p.suite) for p in played]
        Path(junit_file).write_bytes(junit_document(suites))
    if many:
        click.echo(summary_table(played, time.perf_counter() - started))
    return exit_status(played)


def _interrupted(exc: BaseException) -> bool:
    if isinstance(exc, KeyboardInterrupt):
        return True
    return isinstance(exc, BaseExceptionGroup) and exc.split(KeyboardInterrupt)[0] is not None


def _progress_line(progress: Progress) -> None:
    click.echo(progress.describe())


def _note_line(note: str) -> None:
    click.echo(f"hb-sim: {note}")


@contextlib.contextmanager
def _live_view() -> Iterator[Callable[[SimSnapshot], None]]:
    from .run import to_view_snapshot
    from .view import LiveView

    with LiveView(transient=True) as view:

        def show(snapshot: SimSnapshot) -> None:
            view.update(to_view_snapshot(snapshot), refresh=True)

        yield show

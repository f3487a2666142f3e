"""``hb-sim run`` over one scenario or many: play each, print its block, then a summary table.

Theory of operation: every file is loaded and validated before anything runs (one bad file
and nothing is played: exit 2). Each scenario is then played by ``play``, which returns a
``Played``: plain data (outcome, counts, the text block to print, its JUnit suite), so it can
come back from a worker process as well as from this one. With ``--jobs N`` the virtual-time
scenarios are played in N worker processes; their blocks are still printed in the order the
scenarios were given, so the output is the same as a serial run but for wall times. Live
runs are always played one at a time: they share the machine's real time.

Exit status: 1 when any check fails, else 2 when a scenario could not be played, else 3 when
one is inconclusive, else 0 (a scenario skipped because it is meant for the other clock
counts as neither).
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import ScenarioError

if TYPE_CHECKING:
    from .run import Progress, RunResult, SimSnapshot
    from .scenario import Clock, Scenario

__all__ = [
    "Hooks",
    "Played",
    "Result",
    "Settings",
    "exit_status",
    "load_all",
    "play",
    "play_all",
    "summary_table",
    "tracker_log",
    "wrong_clock",
]

#: What became of one scenario.
Result = Literal["passed", "failed", "inconclusive", "skipped", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How ``hb-sim run`` plays every scenario (picklable, for worker processes).

    Attributes:
        clock: ``virtual`` or ``live``.
        target: live only: a running tracker's URL.
        hsm: live with ``target``: the mock HSM's URL.
        seed: overrides each scenario's seed.
        keep_params: live with ``target``: leave the scenario's parameters on the tracker.
        report_dir: the report folder of this scenario (None: no report).
        terminal: render for a terminal (rich, coloured) rather than for a log (plain lines).
        width: the terminal's width.
        color_system: the terminal's colours (rich's name), None for none.
    """

    clock: Clock = "virtual"
    target: str | None = None
    hsm: str | None = None
    seed: int | None = None
    keep_params: bool = False
    report_dir: str | None = None
    terminal: bool = False
    width: int = 80
    color_system: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Played:
    """One scenario, played (or not) and judged: what the summary and the JUnit file need.

    Attributes:
        name: the scenario's name.
        path: its file.
        result: passed, failed, inconclusive, skipped (meant for the other clock) or error
            (it could not be played).
        checks: checks judged.
        failed: checks that did not hold.
        wall_seconds: how long it took.
        block: what to print for it: the verdicts, then its summary line, last.
        suite: its JUnit ``testsuite`` element, serialised.
        note: why, for a skipped or unplayable scenario.
    """

    name: str
    path: str
    result: Result
    checks: int
    failed: int
    wall_seconds: float
    block: str
    suite: bytes
    note: str = ""


def load_all(paths: Sequence[Path]) -> list[Scenario]:
    """Load and validate every scenario, reporting every problem.

    Raises:
        ScenarioError: with the issues of every bad file (all of them, not the first).
    """
    from .errors import ScenarioIssue
    from .scenario import load_scenario

    scenarios: list[Scenario] = []
    issues: list[ScenarioIssue] = []
    first: dict[str, str] = {}
    for path in paths:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            issues.extend(exc.issues)
            continue
        if scenario.name in first:
            # Reports and JUnit suites are named after the scenario.
            message = f"{scenario.name!r} is also the name of {first[scenario.name]}"
            issues.append(ScenarioIssue(str(path), scenario.line, 1, "name", message))
        first.setdefault(scenario.name, str(path))
        scenarios.append(scenario)
    if issues:
        raise ScenarioError(issues)
    return scenarios


@dataclass(frozen=True, slots=True)
class Hooks:
    """What only a run in this process can have: the live view and progress lines."""

    on_snapshot: Callable[[SimSnapshot], None] | None
    on_progress: Callable[[Progress], None] | None
    progress_min_wall_gap: float
    on_note: Callable[[str], None] | None = None


def play(path: str, settings: Settings, hooks: Hooks | None = None) -> Played:
    """Play the scenario in ``path`` and judge it (in this process or a worker).

    Args:
        path: a scenario file already validated.
        settings: how to play it and render its block.
        hooks: live view and progress, for a run in this process.

    Returns:
        What became of it. A scenario not meant for ``settings.clock`` is skipped; one the
        tracker or the setup refuses is an error; neither raises.
    """
    from hbtd_server.core import HbtdError

    from .errors import HbSimError
    from .run import RunOptions, junit_suite, run_scenario
    from .scenario import load_scenario

    scenario = load_scenario(path)
    if settings.clock not in scenario.clocks:
        note = wrong_clock(scenario, settings.clock)
        return _not_judged(scenario, "skipped", note, 0.0)
    started = time.perf_counter()
    report = settings.report_dir
    options = RunOptions(
        clock=settings.clock,
        seed=settings.seed,
        target=settings.target,
        hsm=settings.hsm,
        on_snapshot=hooks.on_snapshot if hooks else None,
        on_progress=hooks.on_progress if hooks else None,
        progress_min_wall_gap=hooks.progress_min_wall_gap if hooks else 10.0,
        log_dir=report,
        keep_params=settings.keep_params,
        on_note=hooks.on_note if hooks else None,
    )
    try:
        # In live time the started hbtd writes tracker.log itself (RunOptions.log_dir).
        with tracker_log(Path(report) if report and settings.clock == "virtual" else None):
            result = run_scenario(scenario, options)
    except (HbSimError, HbtdError, ValueError) as exc:
        return _not_judged(scenario, "error", f"cannot run: {exc}", time.perf_counter() - started)
    block = _block(result, settings)
    return Played(
        name=scenario.name,
        path=path,
        result=result.outcome,
        checks=len(result.verdicts),
        failed=result.failed_count,
        wall_seconds=result.wall_seconds,
        block=block,
        suite=ET.tostring(junit_suite(result)),
    )


def _not_judged(scenario: Scenario, result: Result, note: str, wall: float) -> Played:
    from .run import junit_note

    kind: Literal["skipped", "error"] = "skipped" if result == "skipped" else "error"
    word = "SKIPPED" if kind == "skipped" else "ERROR"
    return Played(
        name=scenario.name,
        path=scenario.path,
        result=result,
        checks=0,
        failed=0,
        wall_seconds=wall,
        block=f"{word}: {scenario.name}: {note}",
        suite=ET.tostring(junit_note(scenario, kind, note, wall)),
        note=note,
    )


def _block(result: RunResult, settings: Settings) -> str:
    from .run import verdict_table, verdict_text, write_report

    if settings.terminal:
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(
            file=buffer,
            width=settings.width,
            force_terminal=True,
            color_system=settings.color_system,  # type: ignore[arg-type]
        )
        console.print(verdict_table(result))
        lines = [buffer.getvalue().rstrip("\n")]
    else:
        # A log (CI): plain lines, neither padded nor wrapped, so grep finds whole messages.
        lines = [verdict_text(result)]
    failed = f", {result.heartbeats_failed:,} not answered 200" if result.clock == "live" else ""
    lines.append(
        f"{result.heartbeats_delivered:,} heartbeats delivered "
        f"({result.heartbeat_rate:,.0f}/s of run time{failed}) in {result.wall_seconds:.1f} s wall"
    )
    if settings.report_dir:
        lines.extend(f"wrote {p}" for p in write_report(result, Path(settings.report_dir)))
    lines.append(result.summary())
    return "\n".join(lines)


def _ignore_sigint() -> None:
    # Ctrl-C is the parent's to handle: it stops the pool itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _play_job(job: tuple[str, Settings]) -> Played:
    return play(*job)


def play_all(
    jobs: Sequence[tuple[str, Settings]],
    workers: int,
    show: Callable[[Played], None],
    hooks: Callable[[], contextlib.AbstractContextManager[Hooks]] | None = None,
) -> list[Played]:
    """Play every job, ``workers`` at a time in worker processes (1: here, each within
    ``hooks()``, which gives its live view and progress and is closed before it is shown),
    calling ``show`` for each in the order given as soon as it and those before it are done.

    Returns:
        What became of each, in order.
    """
    done: list[Played] = []
    if workers <= 1 or len(jobs) <= 1:
        for path, settings in jobs:
            with hooks() if hooks else contextlib.nullcontext(None) as given:
                played = play(path, settings, given)
            done.append(played)
            show(played)
        return done
    # A fresh interpreter per worker: forking a process that may hold threads is unsafe.
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(min(workers, len(jobs)), initializer=_ignore_sigint)
    try:
        for played in pool.imap(_play_job, jobs):
            done.append(played)
            show(played)
    finally:
        pool.terminate()
        pool.join()
    return done


def exit_status(played: Sequence[Played]) -> int:
    """1 when any check failed, else 2 when any could not be played, else 3 when any was
    inconclusive, else 0."""
    results = {p.result for p in played}
    for result, status in (("failed", 1), ("error", 2), ("inconclusive", 3)):
        if result in results:
            return status
    return 0


def summary_table(played: Sequence[Played], wall_seconds: float) -> str:
    """The table printed last: scenario, result, checks failed, wall time (and why, for a
    skipped or unplayable one), then one line of totals. Plain text, columns aligned."""
    rows = [("scenario", "result", "checks failed", "wall", "")]
    for p in played:
        checks = f"{p.failed} of {p.checks}" if p.result not in ("skipped", "error") else "-"
        rows.append((p.name, p.result.upper(), checks, f"{p.wall_seconds:.1f} s", p.note))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]

    def line(row: tuple[str, str, str, str, str]) -> str:
        name, result, checks, wall, note = row
        cells = (name.ljust(widths[0]), result.ljust(widths[1]), checks.rjust(widths[2]))
        return "  ".join((*cells, wall.rjust(widths[3]), note)).rstrip()

    lines = [line(row) for row in rows]
    counts: dict[str, int] = {}
    for p in played:
        counts[p.result] = counts.get(p.result, 0) + 1
    order = ("passed", "failed", "inconclusive", "skipped", "error")
    totals = ", ".join(f"{counts[r]} {r}" for r in order if r in counts)
    lines.append(f"{len(played)} scenarios: {totals} in {wall_seconds:.1f} s wall")
    return "\n".join(lines)


@contextlib.contextmanager
def tracker_log(folder: Path | None) -> Iterator[None]:
    """Send the in-process tracker's log to ``folder/tracker.log``, or nowhere (None): its
    waves belong in the report, not on the screen."""
    from hbtd_server.core import log_formatter

    hbtd = logging.getLogger("hbtd")
    handler: logging.Handler = logging.NullHandler()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / "tracker.log", encoding="utf-8")
        handler.setFormatter(log_formatter())
    saved = hbtd.propagate
    hbtd.addHandler(handler)
    hbtd.propagate = False
    try:
        yield
    finally:
        hbtd.removeHandler(handler)
        hbtd.propagate = saved
        handler.close()


def wrong_clock(scenario: Scenario, clock: Clock, option: str = "--clock") -> str:
    """Why ``scenario`` is skipped on ``clock``: it is meant for the other one only.

    Args:
        scenario: the scenario.
        clock: the clock asked for.
        option: the command-line option that chooses the clock, for the hint.
    """
    other = " and ".join(scenario.clocks)
    return f"meant for {other} time only (its clocks), not {clock}: play it with {option} {other}"

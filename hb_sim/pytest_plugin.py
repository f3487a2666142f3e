"""The pytest plugin: scenario files collected and played as tests (``pytest scenarios/``).

Installed with the ``[sim]`` extra as the ``pytest11`` entry point ``hb_sim`` (turn it off
with ``-p no:hb_sim``). Each scenario file is one test item named after the scenario, located
at its file and the line of its ``name``. A passing run passes; a failed one fails with the
verdicts as ``hb-sim run`` prints them (failed checks first); an inconclusive one (the
simulator's own fleet fell behind) is skipped with the reason, and so is a scenario meant
for the other clock only. Which YAML files are scenarios is decided by their content
(``name``, ``duration`` and ``fleet`` at the top level), or by the ``hb_sim_scenarios`` ini
option's file patterns when set, so other YAML in the tree is left alone.

Every pytest run in an environment with the ``[sim]`` extra loads this module, so it imports
nothing but pytest and the standard library at start: the scenario loader when a YAML file is
collected, and the runner (trio, the tracker, rich) when a scenario is played.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._detect import SUFFIXES, looks_like_scenario

if TYPE_CHECKING:
    from .run import RunOptions, RunResult
    from .scenario import Scenario

__all__ = ["ScenarioFailed", "ScenarioFile", "ScenarioItem"]

#: The ini option listing file patterns of scenarios (instead of looking at the content).
PATTERNS_INI = "hb_sim_scenarios"


class _Hooks:
    """The plugin's own hook, for conftest files."""

    @pytest.hookspec(firstresult=True)
    def pytest_hb_sim_run_options(
        self, item: ScenarioItem, options: RunOptions
    ) -> RunOptions | None:
        """Change how a scenario item is played: return new ``RunOptions`` (say, another
        ``engine_factory`` to play against a tracker of your own), or None to keep them."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hb-sim", "hb-sim scenarios")
    group.addoption(
        "--hb-clock",
        choices=("virtual", "live"),
        default="virtual",
        help="Play scenarios in virtual time (in process, deterministic; the default) or "
        "live time (real sockets, a started hbtd or --hb-target).",
    )
    group.addoption(
        "--hb-target",
        metavar="URL",
        help="Live only: play against this running tracker instead of starting hbtd.",
    )
    group.addoption(
        "--hb-hsm",
        metavar="URL",
        help="Live with --hb-target: the mock HSM (hb-sim mock-hsm) the target reports to.",
    )
    group.addoption("--hb-seed", type=int, metavar="N", help="Override the scenarios' seed.")
    group.addoption(
        "--hb-report",
        metavar="DIR",
        help="Write each scenario's report (result.json, junit.xml, timeline.svg, the "
        "tracker's log) in DIR/<scenario name>.",
    )
    parser.addini(
        PATTERNS_INI,
        type="linelist",
        default=[],
        help="Glob patterns (of file names or of paths from the root) of scenario files; "
        "when empty, a YAML file is a scenario when it has name, duration and fleet.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hb_sim: an hb-sim scenario, played and judged")
    clock = config.getoption("hb_clock")
    target, hsm = config.getoption("hb_target"), config.getoption("hb_hsm")
    if clock == "virtual" and (target or hsm):
        raise pytest.UsageError("--hb-target and --hb-hsm need --hb-clock live")
    if hsm and not target:
        raise pytest.UsageError("--hb-hsm goes with --hb-target")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.suffix not in SUFFIXES:
        return None
    patterns: list[str] = parent.config.getini(PATTERNS_INI)
    if patterns:
        relative = file_path.relative_to(parent.config.rootpath).as_posix()
        if not any(
            fnmatch.fnmatch(file_path.name, p) or fnmatch.fnmatch(relative, p) for p in patterns
        ):
            return None
    elif not looks_like_scenario(file_path):
        return None
    file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return file


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, ScenarioItem) and report.skipped and isinstance(report.longrepr, tuple):
        # A skip points at the scenario's file and line, not at this module.
        report.longrepr = (str(item.path), item.scenario.line, report.longrepr[2])
    return report


class ScenarioFile(pytest.File):
    """A scenario file: validated when collected, one item (its scenario)."""

    def collect(self) -> Iterator[ScenarioItem]:
        from .errors import ScenarioError
        from .scenario import load_scenario

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            # As hb-sim validate prints it: every issue, with its file, line and field.
            raise self.CollectError("\n".join(str(i) for i in exc.issues)) from None
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    """A check of the scenario did not hold; carries the result for the report."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.summary())
        self.result = result


class ScenarioItem(pytest.Item):
    """One scenario, played on the clock ``--hb-clock`` asks for and judged."""

    #: There is no test function. pytest-trio's ``trio_mode`` reads every item's ``obj``
    #: to find coroutine functions, as if all items were ``pytest.Function``.
    obj: object = None

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.add_marker("hb_sim")

    def setup(self) -> None:
        from ._batch import wrong_clock

        clock = self.config.getoption("hb_clock")
        if clock not in self.scenario.clocks:
            pytest.skip(wrong_clock(self.scenario, clock, "--hb-clock"))

    def runtest(self) -> None:
        try:
            from ._batch import tracker_log
            from .ports import worker_ports
            from .run import RunOptions, run_scenario, write_report
        except ModuleNotFoundError as exc:
            # The plugin is installed with the package; the runner needs the [sim] extra.
            pytest.fail(f"playing scenarios needs hbtd-py[sim] ({exc})", pytrace=False)

        config = self.config
        clock = config.getoption("hb_clock")
        report: str | None = config.getoption("hb_report")
        folder = Path(report, self.scenario.name) if report else None
        options = RunOptions(
            clock=clock,
            seed=config.getoption("hb_seed"),
            target=config.getoption("hb_target"),
            hsm=config.getoption("hb_hsm"),
            log_dir=str(folder) if folder else None,
            # Parallel workers (pytest-xdist) each start their hbtd on ports of their own.
            ports=worker_ports(os.environ.get("PYTEST_XDIST_WORKER")),
        )
        options = self.ihook.pytest_hb_sim_run_options(item=self, options=options) or options
        with tracker_log(folder if clock == "virtual" else None):
            result = run_scenario(self.scenario, options)
        if folder is not None:
            write_report(result, folder)
        if result.outcome == "inconclusive":
            pytest.skip(result.summary())
        if result.outcome == "failed":
            raise ScenarioFailed(result)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            from .run import verdict_text

            result = excinfo.value.result
            where = f"{self.scenario.path}:{self.scenario.line}"
            return f"{where}: {result.summary()}\n{verdict_text(result)}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario {self.scenario.name}"

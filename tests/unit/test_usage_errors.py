"""A usage error is one line with a hint to ``--help``, in all three programs (#22).

click's own answer is ``Usage: ...``, ``Try '... --help' for help.``, a blank line and
``Error: ...``; the docs promise one line.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from hb_agent.cli import main as hb_agent
from hb_sim.cli import main as hb_sim
from hbtd_server.cli import main as hbtd
from tests import REPO

SCENARIO = str(REPO / "scenarios" / "quick-death.yaml")

CASES = [
    (hbtd, "hbtd", ["--bogus"], "Error: No such option '--bogus'.", "hbtd"),
    (hbtd, "hbtd", ["--port", "99999"], "Error: Invalid value for '--port'", "hbtd"),
    # Raised by the Go-flag rewriting, before click has a context.
    (hbtd, "hbtd", ["-nosm=maybe"], "Error: Invalid value for '--nosm': 'maybe'", "hbtd"),
    (hb_agent, "hb-agent", ["run", "--bogus"], "Error: No such option", "hb-agent run"),
    (hb_agent, "hb-agent", ["nosuch"], "Error: No such command 'nosuch'.", "hb-agent"),
    (hb_sim, "hb-sim", ["run"], "Error: Missing argument 'SCENARIO.yaml|FOLDER...'.", "hb-sim run"),
    # Raised by the command itself, and by a subcommand loaded lazily.
    (
        hb_sim,
        "hb-sim",
        ["run", SCENARIO, "--hsm", "http://h"],
        "Error: --target and --hsm need",
        "hb-sim run",
    ),
    (
        hb_sim,
        "hb-sim",
        ["watch", "--target", "http://t"],
        "Error: give exactly one of --hsm URL and --xnames FILE.",
        "hb-sim watch",
    ),
]


@pytest.mark.parametrize(("command", "prog", "args", "start", "path"), CASES)
def test_a_usage_error_is_one_line_with_a_hint(
    command: click.Command, prog: str, args: list[str], start: str, path: str
) -> None:
    result = CliRunner().invoke(command, args, prog_name=prog)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start)
    assert lines[0].endswith(f" Try '{path} --help' for help.")
    assert ".. " not in lines[0]


def test_help_and_version_are_untouched() -> None:
    for command, prog in ((hbtd, "hbtd"), (hb_agent, "hb-agent"), (hb_sim, "hb-sim")):
        shown = CliRunner().invoke(command, ["--help"], prog_name=prog)
        assert shown.exit_code == 0
        assert shown.stdout.startswith(f"Usage: {prog} ")
    for command, prog in ((hb_agent, "hb-agent"), (hb_sim, "hb-sim")):
        assert CliRunner().invoke(command, ["--version"], prog_name=prog).exit_code == 0

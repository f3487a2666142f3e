"""Upstream's Go flag forms on ``hbtd``'s command line (#15): a test per form, per flag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio
from click.testing import CliRunner

from hbtd_server import cli
from hbtd_server.cli import go_style_args
from hbtd_server.core import Params

# Every flag upstream's hbtd has, with a value other than its default and what it becomes.
UPSTREAM_VALUED = [
    ("debug", "2", "debug", 2),
    ("warntime", "20", "warntime", 20),
    ("errtime", "40", "errtime", 40),
    ("interval", "7", "interval", 7),
    ("port", "28600", "port", 28600),
    ("kv_url", "mem:", "kv_url", "mem:"),
    ("sm_url", "http://cray-smd/hsm/v2", "sm_url", "http://cray-smd/hsm/v2"),
    ("sm_timeout", "12", "sm_timeout", 12),
    ("sm_retries", "5", "sm_retries", 5),
    ("telemetry_host", "kafka:9092:hb", "telemetry_host", "kafka:9092:hb"),
    ("use_telemetry", "no", "use_telemetry", False),
]
# Go's flag package: one or two dashes; the value after '=' or as the next argument.
VALUED_FORMS: dict[str, Callable[[str, str], list[str]]] = {
    "-name value": lambda name, value: [f"-{name}", value],
    "-name=value": lambda name, value: [f"-{name}={value}"],
    "--name value": lambda name, value: [f"--{name}", value],
    "--name=value": lambda name, value: [f"--{name}={value}"],
}
# Everything Go's strconv.ParseBool accepts.
GO_TRUE = ["1", "t", "T", "true", "TRUE", "True"]
GO_FALSE = ["0", "f", "F", "false", "FALSE", "False"]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, quiet_cli: None) -> list[Params]:
    """The parameters each invocation would have served with (nothing is served)."""
    seen: list[Params] = []

    def fake_run(function: Any) -> None:
        seen.append(function.args[0])

    monkeypatch.setattr(trio, "run", fake_run)
    return seen


def params_for(started: list[Params], args: list[str], env: dict[str, str] | None = None) -> Params:
    result = CliRunner().invoke(cli.main, args, env=env)
    assert result.exit_code == 0, result.output
    return started[-1]


@pytest.mark.parametrize("form", VALUED_FORMS)
@pytest.mark.parametrize(("flag", "value", "field", "expected"), UPSTREAM_VALUED)
def test_every_valued_flag_in_every_go_form(
    started: list[Params], form: str, flag: str, value: str, field: str, expected: object
) -> None:
    params = params_for(started, VALUED_FORMS[form](flag, value))
    assert getattr(params, field) == expected


@pytest.mark.parametrize("form", ["-nosm", "--nosm"])
def test_nosm_alone_turns_it_on(started: list[Params], form: str) -> None:
    assert params_for(started, [form]).nosm is True


@pytest.mark.parametrize("dashes", ["-", "--"])
@pytest.mark.parametrize("word", GO_TRUE)
def test_nosm_with_a_true_value(started: list[Params], dashes: str, word: str) -> None:
    assert params_for(started, [f"{dashes}nosm={word}"]).nosm is True


@pytest.mark.parametrize("dashes", ["-", "--"])
@pytest.mark.parametrize("word", GO_FALSE)
def test_nosm_with_a_false_value_wins_over_the_environment(
    started: list[Params], dashes: str, word: str
) -> None:
    params = params_for(started, [f"{dashes}nosm={word}"], env={"HBTD_NOSM": "1"})
    assert params.nosm is False


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "yes", "on", "T"])
def test_nosm_from_the_environment(started: list[Params], word: str) -> None:
    assert params_for(started, [], env={"HBTD_NOSM": word}).nosm is True


@pytest.mark.parametrize(
    ("word", "expected"),
    [(w, True) for w in [*GO_TRUE, "yes", "on", "YES"]]
    + [(w, False) for w in [*GO_FALSE, "no", "off", "NO"]],
)
@pytest.mark.parametrize("dashes", ["-", "--"])
def test_use_telemetry_takes_upstreams_words(
    started: list[Params], dashes: str, word: str, expected: bool
) -> None:
    assert params_for(started, [f"{dashes}use_telemetry={word}"]).use_telemetry is expected


def test_a_whole_upstream_command_line(started: list[Params]) -> None:
    args = "-warntime 20 -errtime=60 --nosm=true -use_telemetry=no -interval 3 -debug=1"
    params = params_for(started, args.split())
    assert (params.warntime, params.errtime, params.interval, params.debug) == (20, 60, 3, 1)
    assert (params.nosm, params.use_telemetry) == (True, False)


def test_dashed_spellings_still_work(started: list[Params]) -> None:
    params = params_for(started, ["--sm-timeout=12", "-sm-retries", "4"])
    assert (params.sm_timeout, params.sm_retries) == (12, 4)


@pytest.mark.parametrize("form", ["-h", "-help", "--help"])
def test_help_in_go_forms(form: str) -> None:
    result = CliRunner().invoke(cli.main, [form])
    assert result.exit_code == 0
    assert "--warntime" in result.output


def test_a_bad_boolean_is_a_one_line_usage_error() -> None:
    result = CliRunner().invoke(cli.main, ["-nosm=maybe"])
    assert result.exit_code == 2
    assert "Invalid value for '--nosm': 'maybe' is not a boolean" in result.output
    assert "Traceback" not in result.output


def test_a_misspelt_go_flag_names_the_likely_one() -> None:
    result = CliRunner().invoke(cli.main, ["-warntme", "20"])
    assert result.exit_code == 2
    assert "No such option '--warntme'" in result.output
    assert "'--warntime'" in result.output


def test_values_that_look_like_flags_are_left_alone() -> None:
    args, off = go_style_args(cli.main, ["--telemetry_host", "-x", "--", "-nosm=false"])
    assert (args, off) == (["--telemetry_host", "-x", "--", "-nosm=false"], set())


def test_short_options_are_not_rewritten() -> None:
    assert go_style_args(cli.main, ["-h"]) == (["-h"], set())


def test_an_on_off_flag_takes_its_value_only_after_equals() -> None:
    # As in Go: `--nosm false` is --nosm followed by a stray argument, which is refused.
    result = CliRunner().invoke(cli.main, ["--nosm", "false"])
    assert result.exit_code == 2
    assert "unexpected extra argument (false)" in result.output


def test_shell_completion_knows_the_flags() -> None:
    # docs/operations.md, "Shell completion": click's completion, through the Go-flag command.
    env = {"_HBTD_COMPLETE": "bash_complete", "COMP_WORDS": "hbtd --warn", "COMP_CWORD": "1"}
    result = CliRunner().invoke(cli.main, [], env=env, prog_name="hbtd")
    assert result.exit_code == 0
    assert "plain,--warntime" in result.output.splitlines()


@pytest.mark.parametrize("flag", ["--version", "-version"])
def test_version_prints_the_package_version_and_exits_0(flag: str) -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(cli.main, [flag])
    assert result.exit_code == 0, result.output
    assert result.output == f"hbtd, version {version('hbtd-py')}\n"

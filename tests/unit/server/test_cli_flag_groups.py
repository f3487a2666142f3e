"""``hbtd``'s flags come from its flag groups (frozen dataclasses), and each default is written
once: the HBTD parameters' in ``Params``, the others in their group or the module that owns them.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import click
import pytest
import trio
from click.testing import CliRunner

from hbtd_server import cli
from hbtd_server.cli import HttpOptions, OpsOptions, StoreOptions, TrackerOptions
from hbtd_server.cli._flags import flag, option_groups
from hbtd_server.core import DEFAULT_PARAMS, Params
from hbtd_server.engine import DEFAULT_MAX_COMPONENTS
from hbtd_server.http import HttpSettings, Operability
from hbtd_server.notify import DEFAULT_CAPACITY
from hbtd_server.store import DEFAULT_LEASE_TTL
from tests import REPO

PARAM_FIELDS = [field.name for field in dataclasses.fields(Params)]


def options() -> list[click.Option]:
    """``hbtd``'s options but ``--help`` and ``--version``."""
    return [
        param
        for param in cli.main.params
        if isinstance(param, click.Option) and param.name not in {"help", "version"}
    ]


def test_every_parameter_has_a_flag_whose_default_is_default_params() -> None:
    defaults = {field.name: field.default for field in dataclasses.fields(TrackerOptions)}
    for name in PARAM_FIELDS:
        assert defaults[name] == getattr(DEFAULT_PARAMS, name), name
    assert TrackerOptions().params() == DEFAULT_PARAMS


def test_the_parameter_flags_name_default_params_rather_than_copy_its_values() -> None:
    # A copied literal would pass the test above until someone changes one of the two.
    tree = ast.parse(inspect.getsource(inspect.getmodule(TrackerOptions)))  # type: ignore[arg-type]
    [group] = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    declared: dict[str, str] = {}
    for statement in group.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.value, ast.Call):
            assert isinstance(statement.target, ast.Name)
            [default] = [k.value for k in statement.value.keywords if k.arg == "default"]
            declared[statement.target.id] = ast.unparse(default)
    for name in PARAM_FIELDS:
        assert declared[name] == f"DEFAULT_PARAMS.{name}"


def test_help_shows_the_default_params_values() -> None:
    shown = " ".join(CliRunner().invoke(cli.main, ["--help"]).output.split())
    for name in PARAM_FIELDS:
        value = getattr(DEFAULT_PARAMS, name)
        env = f"HBTD_{name.upper()}"
        if value is False:  # an on/off flag that is off shows no default
            assert f"[env var: {env}]" in shown
            continue
        text = '""' if value == "" else str(value)
        assert f"[env var: {env}; default: {text}]" in shown, name


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, quiet_cli: None) -> list[Any]:
    """What each invocation would have served with (nothing is served)."""
    seen: list[Any] = []
    monkeypatch.setattr(trio, "run", seen.append)
    return seen


def test_with_no_flag_or_variable_the_service_gets_each_groups_defaults(
    served: list[Any],
) -> None:
    unset: dict[str, str | None] = {name: None for name in os.environ if name.startswith("HBTD_")}
    result = CliRunner().invoke(cli.main, [], env=unset)
    assert result.exit_code == 0, result.output
    [call] = served
    assert call.args == (DEFAULT_PARAMS,)
    given = call.keywords
    assert given["host"] == "0.0.0.0"
    assert given["ops"] == Operability() == OpsOptions().operability()
    assert given["http"] == HttpSettings() == HttpOptions().settings()
    assert given["telemetry"].capacity == DEFAULT_CAPACITY
    assert given["max_components"] == DEFAULT_MAX_COMPONENTS
    assert given["lease_ttl"] == DEFAULT_LEASE_TTL == StoreOptions().lease_ttl
    assert given["store"] is None
    assert given["reuse_port"] is False


def test_each_flag_has_both_spellings_and_its_hbtd_variable() -> None:
    for option in options():
        assert option.name is not None
        assert option.envvar == f"HBTD_{option.name.upper()}"
        spellings = {f"--{option.name}", f"--{option.name.replace('_', '-')}"}
        assert set(option.opts) == spellings
        assert option.show_envvar


def test_flags_of_one_name_in_two_groups_are_refused() -> None:
    @dataclass(frozen=True, kw_only=True)
    class One:
        DASHED_FIRST: ClassVar[bool] = True
        port: int = flag("A port.", default=1)

    @dataclass(frozen=True, kw_only=True)
    class Two:
        DASHED_FIRST: ClassVar[bool] = True
        port: int = flag("Another port.", default=2)

    with pytest.raises(TypeError, match="flags declared in two groups: port"):
        option_groups(One, Two)


def test_a_field_not_declared_as_a_flag_is_refused() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Loose:
        DASHED_FIRST: ClassVar[bool] = True
        port: int = 1

    with pytest.raises(TypeError, match=r"Loose\.port is not declared with flag\(\)"):
        option_groups(Loose)(lambda _loose: None)


def test_a_group_reaches_the_command_as_one_instance() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Small:
        DASHED_FIRST: ClassVar[bool] = False
        warn_time: int = flag("Seconds.", default=10)
        name: str = flag("A name.", default="x")

    got: list[Small] = []

    @click.command()
    @option_groups(Small)
    def command(small: Small) -> None:
        got.append(small)

    runner = CliRunner()
    assert runner.invoke(command, ["--warn-time", "0x20"], env={"HBTD_NAME": "y"}).exit_code == 0
    assert runner.invoke(command, []).exit_code == 0
    assert got == [Small(warn_time=32, name="y"), Small()]
    help_text = " ".join(runner.invoke(command, ["--help"]).output.split())
    assert "--warn_time, --warn-time INTEGER" in help_text
    assert "[env var: HBTD_WARN_TIME; default: 10]" in help_text


def _documented(value: str, default: object) -> bool:
    # The page writes defaults for people: 1 and 0 for on and off, "empty", "none", 30 for 30.0.
    if isinstance(default, bool):
        return value == ("1" if default else "0")
    if default is None:
        return value == "none"
    if default == "":
        return value == "empty"
    if isinstance(default, float):
        return float(value) == default
    return value == str(default)


def test_the_configuration_page_gives_each_flags_variable_and_default() -> None:
    page = (REPO / "docs" / "configuration.md").read_text()
    rows = {}
    for line in page.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if (
            line.startswith("| ")
            and len(cells) > 5
            and (flags := re.findall(r"`(--[\w-]+)`", cells[2]))
        ):
            rows[flags[0]] = (cells[3].strip("`"), cells[4].strip("`"))
    for option in options():
        if option.hidden:
            continue
        env, default = rows[option.opts[0]]
        assert env == option.envvar, option.opts[0]
        assert _documented(default, option.default), (option.opts[0], default, option.default)

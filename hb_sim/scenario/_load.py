"""Loading and validating scenario files.

Theory of operation: the YAML is *composed*, not loaded, so every value keeps the line and
column where it was written. One pass walks the node tree section by section, converting
values and recording a ``ScenarioIssue`` (file, line, field, what was expected, what was
found) for every problem instead of stopping at the first; a second pass checks what needs the
whole scenario (selectors that select no node, random draws larger than their pool). Only a
scenario without issues becomes a ``Scenario``; otherwise ``ScenarioError`` carries them all.

Plain YAML scalars are read from their text, not from YAML 1.1's guess at a type, so
``state: On`` is the state ``On`` (not ``True``) and ``at: 1:30`` is rejected rather than
read as 90.
"""

from __future__ import annotations

import dataclasses
import os

import yaml
from yaml.nodes import Node

from ..errors import ScenarioError, ScenarioIssue
from ._durations import format_duration
from ._model import (
    Clock,
    Fleet,
    Scenario,
)
from ._read_base import _NAME_RE, _TOP_KEYS, MAX_FLEET, PARAM_NAMES
from ._read_expect import ScenarioReader

__all__ = ["MAX_FLEET", "PARAM_NAMES", "load_scenario", "load_scenario_text"]


def load_scenario_text(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario YAML and build the ``Scenario``.

    Args:
        text: the YAML.
        file: the name to use in messages and in ``Scenario.path``.

    Returns:
        The scenario.

    Raises:
        ScenarioError: with every issue found, each located by file, line, column and field.
    """
    reader = ScenarioReader(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or exc.context or "bad YAML"
        raise ScenarioError(
            [ScenarioIssue(file, line, column, "", f"not valid YAML: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([ScenarioIssue(file, 0, 0, "", f"not valid YAML: {exc}")]) from None
    if root is None:
        raise ScenarioError([ScenarioIssue(file, 0, 0, "", "the file is empty")])
    pairs = reader.mapping(root, "", _TOP_KEYS, required=("name", "duration", "fleet"))
    if pairs is None:
        raise ScenarioError(reader.issues)

    def section(key: str) -> Node | None:
        return pairs[key][1] if key in pairs else None

    name = reader.get(pairs, "name", "", reader.text, "")
    if name and not _NAME_RE.fullmatch(name):
        # The runner names report files and JUnit suites after it.
        reader.error(
            pairs["name"][1], "name", f"expected letters, digits, '_', '.' or '-', got {name!r}"
        )
    description = reader.get(pairs, "description", "", reader.text, "")
    seed = reader.get(pairs, "seed", "", reader.integer, 0)
    duration = reader.get(
        pairs, "duration", "", lambda n, f: reader.duration(n, f, positive=True), 0.0
    )
    reader.run_length = duration or None
    fleet_node = section("fleet")
    fleet = (
        reader.read_fleet(fleet_node) if fleet_node is not None else Fleet(nodes=(), cabinets=())
    )
    agents = reader.read_agents(section("agents"))
    tracker = reader.read_tracker(section("tracker"))
    if agents.interval >= tracker.warntime:
        where = section("agents") or section("tracker") or root
        reader.error(
            where,
            "agents.interval",
            f"expected less than tracker.warntime ({format_duration(tracker.warntime)}),"
            f" got {format_duration(agents.interval)}: every node would warn",
        )
    hsm = reader.read_hsm(section("hsm"))
    timeline = reader.read_timeline(section("timeline"), tracker, agents)
    expectations = reader.read_expectations(section("expect"))
    invariants = reader.read_invariants(section("invariants"))
    # Invariants left at their defaults point at the section, or at the scenario's name.
    anchor = pairs.get("invariants", pairs.get("name"))
    if anchor is not None:
        lines = {"": anchor[0].start_mark.line + 1, **invariants.lines}
        invariants = dataclasses.replace(invariants, lines=lines)
    both: tuple[Clock, ...] = ("virtual", "live")
    clocks = reader.get(pairs, "clocks", "", reader.clocks, both)
    reader.check_selections(seed)
    if reader.issues:
        raise ScenarioError(sorted(reader.issues, key=lambda i: (i.line, i.column)))
    return Scenario(
        name=name,
        description=description,
        path=file,
        seed=seed,
        duration=duration,
        fleet=fleet,
        agents=agents,
        tracker=tracker,
        hsm=hsm,
        timeline=tuple(timeline),
        expectations=tuple(expectations),
        invariants=invariants,
        named=dict(reader.named),
        clocks=clocks,
        line=pairs["name"][0].start_mark.line + 1,
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, validate and build the scenario in ``path``.

    Args:
        path: the YAML file; messages name it as given.

    Returns:
        The scenario.

    Raises:
        ScenarioError: the file cannot be read, or is invalid (every issue, located).
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([ScenarioIssue(file, 0, 0, "", f"cannot read: {exc}")]) from None
    return load_scenario_text(text, file)

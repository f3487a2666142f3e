"""Whatever the file holds, loading a scenario either succeeds or raises ScenarioError."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hb_sim import ScenarioError, load_scenario_text

KEYS = [
    "name",
    "duration",
    "fleet",
    "ranges",
    "topology",
    "cabinets",
    "limit",
    "agents",
    "interval",
    "jitter",
    "tracker",
    "warntime",
    "errtime",
    "params",
    "hsm",
    "mode",
    "timeline",
    "at",
    "die",
    "revive",
    "flap",
    "period",
    "count",
    "delay",
    "by",
    "for",
    "nodes",
    "random",
    "within",
    "ref",
    "name",
    "except",
    "expect",
    "state",
    "flag",
    "invariants",
    "cabinet",
    "glob",
    "range",
    "xnames",
    "all",
    "spread",
    "after",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "30s",
            "1m",
            "soon",
            "x1000",
            "x1000c0s0b0n0",
            "x1000c[0-1]s0b0n0",
            "all",
            "Ready",
            "On",
            "warn",
            "10%",
            "[",
            "x1000c0s*b0n0",
            "",
        ]
    ),
    st.text(max_size=12),
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=25,
)


def check(text: str) -> None:
    try:
        load_scenario_text(text, "fuzz.yaml")
    except ScenarioError as exc:
        issues = exc.issues
    else:
        return
    assert issues
    for issue in issues:
        assert issue.file == "fuzz.yaml"
        assert issue.message


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8))
def test_structured_garbage(document: dict[str, Any]) -> None:
    base: dict[str, Any] = {"name": "f", "duration": "5m", "fleet": {"topology": {"cabinets": 1}}}
    check(yaml.safe_dump({**base, **document}))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_text_garbage(text: str) -> None:
    check(text)


ACTIONS = [
    "die",
    "revive",
    "flap",
    "partition",
    "heal",
    "delay",
    "hsm",
    "tracker_restart",
    "params",
]
INNER_KEYS = [
    "all",
    "xnames",
    "glob",
    "range",
    "cabinet",
    "random",
    "ref",
    "within",
    "except",
    "name",
    "nodes",
    "spread",
    "period",
    "count",
    "down",
    "by",
    "for",
    "mode",
    "latency",
    "error_rate",
    "error_status",
    "downtime",
    "Warntime",
    "Errtime",
    "Sm_timeout",
    "Nosm",
    "Port",
]
SELECTORISH: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(INNER_KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(ACTIONS), SELECTORISH), max_size=4),
    st.lists(
        st.tuples(st.sampled_from(["state", "flag", "heartbeating"]), SCALARS, SELECTORISH),
        max_size=3,
    ),
)
def test_event_and_expectation_garbage(
    events: list[tuple[str, Any]], expectations: list[tuple[str, Any, Any]]
) -> None:
    document = {
        "name": "f",
        "duration": "5m",
        "fleet": {"topology": {"cabinets": 2}},
        "timeline": [{"at": "10s", action: value} for action, value in events],
        "expect": [{"at": "1m", "nodes": sel, key: value} for key, value, sel in expectations],
    }
    check(yaml.safe_dump(document))

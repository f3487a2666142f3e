"""Judging one expectation: every selected node, at an instant or within a window."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..scenario import (
    Expectation,
    format_duration,
)
from ._record import EXAMPLES, HsmHistory, RunRecord, Verdict, label

__all__ = ["expectation_verdict"]


def _secs(time: float) -> str:
    return f"{time:.1f} s"


def expectation_verdict(
    record: RunRecord, history: HsmHistory, index: int, exp: Expectation
) -> Verdict:
    nodes = record.selection.resolve(exp.nodes)
    wanted: list[str] = []
    if exp.state is not None or exp.flag is not None:
        wanted.append(label(exp.state, exp.flag))
    if exp.heartbeating is not None:
        wanted.append("heartbeating" if exp.heartbeating else "not heartbeating")
    when = (
        f"at {format_duration(exp.at)}"
        if exp.at is not None
        else f"by {format_duration(exp.deadline)}"
        + (f" (after {format_duration(exp.after)})" if exp.after else "")
    )
    expected = f"{' and '.join(wanted)} {when}, {len(nodes)} node(s)"
    count = 0
    examples: list[str] = []
    samples = record.heartbeating.get(index, ())
    for xname in nodes:
        problem = _node_problem(exp, history, samples, xname)
        if problem is not None:
            count += 1
            if len(examples) < EXAMPLES:
                examples.append(f"{xname}: {problem}")
    seen = f"all {len(nodes)} node(s)" if not count else f"{count} of {len(nodes)} wrong, e.g. "
    if count:
        seen += examples[0]
    return Verdict(
        name=exp.name,
        kind="expectation",
        passed=not count,
        expected=expected,
        seen=seen,
        line=exp.line,
        details=tuple(examples),
    )


def _node_problem(
    exp: Expectation,
    history: HsmHistory,
    samples: Sequence[tuple[float, Mapping[str, bool]]],
    xname: str,
) -> str | None:
    """What happened to ``xname`` instead, and when, or None when ``exp`` holds."""
    if exp.state is not None or exp.flag is not None:
        want = label(exp.state, exp.flag)
        if xname not in history:
            return f"{want} expected, but HSM does not know the node"

        def matches(value: tuple[str, str]) -> bool:
            return (exp.state is None or value[0] == exp.state) and (
                exp.flag is None or value[1] == exp.flag
            )

        spans = history.spans(xname)
        if exp.at is not None:
            value = history.at(xname, exp.at)
            if not matches(value):
                since = max(s for s, _, v in spans if s <= exp.at)
                since_text = "from the start" if since == -math.inf else f"since {_secs(since)}"
                return f"{want} expected at {_secs(exp.at)}, was {label(*value)} {since_text}"
        elif not any(
            start <= exp.deadline and until > exp.after and matches(value)
            for start, until, value in spans
        ):
            late = [s for s, until, v in spans if until > exp.after and matches(v)]
            if late:
                return f"{want} expected by {_secs(exp.deadline)}, reached at {_secs(late[0])}"
            return (
                f"{want} expected by {_secs(exp.deadline)}, never reached "
                f"({label(*history.at(xname, exp.deadline))} at {_secs(exp.deadline)})"
            )
    if exp.heartbeating is not None:
        seen = [(at, beating[xname]) for at, beating in samples if xname in beating]
        if exp.heartbeating not in [b for _, b in seen]:
            want = "heartbeating" if exp.heartbeating else "not heartbeating"
            when = f"at {_secs(exp.at)}" if exp.at is not None else f"by {_secs(exp.deadline)}"
            got = "heartbeating" if seen and seen[-1][1] else "not heartbeating"
            return f"{want} expected {when}, {got} in {len(seen)} sample(s) of /hbstates"
    return None

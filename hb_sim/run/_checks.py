"""Judging a finished run: each expectation and invariant of a scenario becomes a ``Verdict``.

Theory of operation: a run leaves a ``RunRecord`` (what HSM started with, every state change
and StateData request it saw, the truth of every node, samples of the tracker's
``/hbstates``, and when HSM was faulted or the tracker away). The checks read only that, after
the run, so the virtual and the live runner share them and a record can be judged again.
Definitions are those of docs/scenarios.md ("expect" and "invariants").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from ..hsm import RecordedRequest, normalize_flag, normalize_state
from ..scenario import (
    DEFAULT_LATENESS,
    Expectation,
    HsmChange,
    NodesEvent,
    ParamsPatch,
    format_duration,
)
from ._expectations import expectation_verdict
from ._follow import StatePatch, follows_truth, overlap
from ._record import EXAMPLES, HsmHistory, RunRecord, Verdict, label
from ._truth import Truth, TruthChange

__all__ = ["judge"]

#: A PATCH may lag the truth by this much before it counts as stale (the tracker's batching
#: window and a little scheduling).
STALE_TOLERANCE: Final = 0.5
#: HBTD's ExtendedInfo.Message for each target.
MESSAGES: Final = {
    ("Ready", "OK"): ("Heartbeat started", "Heartbeat restarted"),
    ("Ready", "Warning"): ("Heartbeat stopped -- might be dead",),
    ("Standby", "Alert"): ("Heartbeat stopped -- declared dead",),
}
_CAUSE_MESSAGE: Final = {"started": "Heartbeat started", "restarted": "Heartbeat restarted"}
#: The message of a return to Ready/OK from the State/Flag the tracker told HSM last.
_LEFT_MESSAGE: Final[dict[tuple[str, str] | None, str]] = {
    ("Standby", "Alert"): "Heartbeat started",
    ("Ready", "Warning"): "Heartbeat restarted",
}
#: A failed expectation names what happened this long before its window, or after it.
CONTEXT_BEFORE: Final = 10.0
CONTEXT_AFTER: Final = 5.0


def judge(record: RunRecord) -> list[Verdict]:
    """Check every expectation, then every invariant the scenario asks for.

    Args:
        record: the finished run.

    Returns:
        One verdict per expectation (file order), then one per invariant checked.
    """
    scenario = record.scenario
    history = HsmHistory(record.hsm_initial, record.changes)
    verdicts = [
        _with_context(record, exp, expectation_verdict(record, history, index, exp))
        for index, exp in enumerate(scenario.expectations)
    ]
    inv = scenario.invariants
    patches = _state_patches(record.requests)
    if inv.no_false_alarms:
        verdicts.append(_no_false_alarms(record, patches))
    if inv.max_detection_lateness is not None:
        verdicts.append(_lateness(record, history, inv.max_detection_lateness))
    if inv.max_patches_per_wave is not None:
        verdicts.append(_waves(record, inv.max_patches_per_wave, inv.wave_gap))
    if inv.final_state_matches_truth:
        verdicts.append(_final_state(record, history))
    if inv.no_stale_patches:
        verdicts.append(_no_stale(record, patches))
    if inv.messages_match_truth:
        verdicts.append(_messages(record, patches))
    if inv.hsm_follows_truth:
        verdicts.append(_follows(record, patches))
    # An invariant points at its key in the file (JUnit's line), a default at its section.
    return [
        v if v.kind == "expectation" else dataclasses.replace(v, line=inv.line_of(v.name))
        for v in verdicts
    ]


def _with_context(record: RunRecord, exp: Expectation, verdict: Verdict) -> Verdict:
    """A failed expectation's ``seen`` with what happened around it (see :func:`context`)."""
    if verdict.passed:
        return verdict
    last = exp.at if exp.at is not None else exp.deadline
    first = exp.after if exp.at is None and exp.after else last
    nodes = set(record.selection.resolve(exp.nodes))
    return _around(verdict, context(record, first - CONTEXT_BEFORE, last + CONTEXT_AFTER, nodes))


def _around(verdict: Verdict, events: list[str]) -> Verdict:
    if not events:
        return verdict
    return dataclasses.replace(verdict, seen=f"{verdict.seen}; around then: {'; '.join(events)}")


def _around_first(record: RunRecord, verdict: Verdict, first: tuple[float, str] | None) -> Verdict:
    """An invariant's verdict with what happened around its first failure (time, node)."""
    if verdict.passed or first is None:
        return verdict
    at, xname = first
    return _around(verdict, context(record, at - CONTEXT_BEFORE, at + CONTEXT_AFTER, {xname}))


def _secs(time: float) -> str:
    return f"{time:.1f} s"


def context(record: RunRecord, start: float, end: float, nodes: set[str]) -> list[str]:
    """What may explain a failure between ``start`` and ``end``, in time order.

    HSM's faults and the tracker's absences that overlap the window (``HSM down from 35.0 s to
    55.0 s``), parameter changes in it, and the timeline's events on ``nodes`` (those that
    failed) in it (``die x1000c0s3b0n1 at 30.0 s``).
    """
    scenario = record.scenario
    found: list[tuple[float, str]] = []
    hsm: list[tuple[float, str]] = [(0.0, "hsm " + scenario.hsm.faults.mode)]
    hsm += [(e.at, e.describe()) for e in scenario.timeline if isinstance(e, HsmChange)]
    for i, (since, what) in enumerate(hsm):
        until = hsm[i + 1][0] if i + 1 < len(hsm) else record.end
        if what != "hsm ok" and since <= end and until >= start and until > since:
            found.append((since, f"HSM {what[4:]} from {_secs(since)} to {_secs(until)}"))
    for down, up in record.tracker_down:
        if down <= end and up >= start:
            found.append((down, f"tracker away from {_secs(down)} to {_secs(up)}"))
    for event in scenario.timeline:
        if not start <= event.at <= end:
            continue
        if isinstance(event, ParamsPatch) or (
            isinstance(event, NodesEvent) and nodes & set(record.selection.resolve(event.nodes))
        ):
            found.append((event.at, f"{event.describe()} at {_secs(event.at)}"))
    return [text for _, text in sorted(found, key=lambda item: item[0])]


# -- invariants ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Patch:
    time: float
    ids: tuple[str, ...]
    state: str
    flag: str
    message: str | None


def _state_patches(requests: Iterable[RecordedRequest]) -> list[_Patch]:
    """The StateData PATCHes (bulk or single) HSM received, decoded, whatever the answer."""
    out: list[_Patch] = []
    for request in requests:
        if request.method != "PATCH" or not isinstance(request.body, dict):
            continue
        body = {str(k).lower(): v for k, v in request.body.items()}
        if request.path.endswith("/BulkStateData"):
            ids = body.get("componentids")
        elif request.path.endswith("/StateData"):
            ids = [request.path.rsplit("/", 2)[-2]]
        else:
            continue
        if not isinstance(ids, list):
            continue
        state = normalize_state(str(body.get("state", ""))) or str(body.get("state", ""))
        flag = normalize_flag(str(body.get("flag", "") or "OK")) or "OK"
        info = body.get("extendedinfo")
        message = info.get("Message") if isinstance(info, dict) else None
        out.append(
            _Patch(
                request.time,
                tuple(str(i) for i in ids),
                state,
                flag,
                message if isinstance(message, str) else None,
            )
        )
    return out


def _touched(record: RunRecord) -> set[str]:
    touched: set[str] = set()
    for event in record.scenario.timeline:
        if isinstance(event, NodesEvent):
            touched.update(record.selection.resolve(event.nodes))
    return touched


def _no_false_alarms(record: RunRecord, patches: Sequence[_Patch]) -> Verdict:
    touched = _touched(record)
    fleet = set(record.scenario.fleet.nodes)
    untouched = fleet - touched
    alarms: list[str] = []
    nodes: set[str] = set()
    first: tuple[float, str] | None = None
    for patch in patches:
        if patch.flag not in ("Warning", "Alert") and patch.state != "Standby":
            continue
        for xname in patch.ids:
            if xname in untouched:
                nodes.add(xname)
                first = first or (patch.time, xname)
                if len(alarms) < EXAMPLES:
                    alarms.append(f"{patch.time:.2f}s {xname} {label(patch.state, patch.flag)}")
    seen = (
        "none"
        if not nodes
        else f"{len(nodes)} untouched node(s) sent Warning/Alert, first {alarms[0]}"
    )
    verdict = Verdict(
        name="no_false_alarms",
        kind="invariant",
        passed=not nodes,
        expected=f"no Warning or Alert for the {len(untouched)} node(s) no event touched",
        seen=seen,
        details=tuple(alarms),
    )
    return _around_first(record, verdict, first)


def _lateness(record: RunRecord, history: HsmHistory, limit: float) -> Verdict:
    away = [*record.hsm_faulted, *record.tracker_down]
    worst = (-math.inf, "")
    late: list[str] = []
    checked = count = 0
    first: tuple[float, str] | None = None
    for xname in record.truth.changed_nodes():
        if xname not in history:
            continue
        changes = record.truth.history(xname)
        for j in range(1, len(changes)):
            change = changes[j]
            if change.time > record.end:
                break
            next_time = changes[j + 1].time if j + 1 < len(changes) else record.end
            checked += 1
            value = (change.state, change.flag)
            shown = history.first_at_or_after(xname, change.time, value)
            horizon = shown if shown is not None else record.end
            # A level (another writer's change to undo) may take the reconcile interval.
            lateness = horizon - change.time - overlap(away, change.time, horizon) - change.within
            if shown is not None and lateness > worst[0]:
                worst = (lateness, f"{xname} {change.cause} due {change.time:.2f}s")
            if shown is not None and lateness <= limit:
                continue
            # A truth that moved on within the allowance may be skipped (latest wins); one
            # that became due within the allowance of the end cannot be judged yet.
            lived = next_time - change.time - overlap(away, change.time, next_time)
            if lived <= limit + change.within:
                continue
            count += 1
            first = first or (change.time, xname)
            if len(late) < EXAMPLES:
                where = f"shown {shown:.2f}s" if shown is not None else "never shown"
                late.append(f"{xname} {change.cause} due {change.time:.2f}s, {where}")
    if worst[0] == -math.inf:
        seen = f"{checked} transition(s), none shown"
    else:
        seen = f"worst {worst[0]:.2f}s ({worst[1]}) over {checked} transition(s)"
    if count:
        seen = f"{count} late or missing; " + seen
    verdict = Verdict(
        name="max_detection_lateness",
        kind="invariant",
        passed=count == 0,
        expected=f"every truth transition shown in HSM within {format_duration(limit)}",
        seen=seen,
        details=tuple(late),
    )
    return _around_first(record, verdict, first)


def _waves(record: RunRecord, limit: int, gap: float) -> Verdict:
    times = sorted(
        r.time for r in record.requests if r.method == "PATCH" and r.path.endswith("/BulkStateData")
    )
    waves: list[list[float]] = []
    for time in times:
        if waves and time - waves[-1][-1] < gap:
            waves[-1].append(time)
        else:
            waves.append([time])
    too_big = [w for w in waves if len(w) > limit]
    biggest = max(waves, key=len, default=[])
    seen = (
        f"{len(waves)} wave(s), largest {len(biggest)} PATCHes at "
        f"{biggest[0]:.1f}-{biggest[-1]:.1f}s"
        if biggest
        else "no PATCH"
    )
    return Verdict(
        name="max_patches_per_wave",
        kind="invariant",
        passed=not too_big,
        expected=f"at most {limit} PATCHes per wave (gap {format_duration(gap)})",
        seen=seen,
        details=tuple(f"{len(w)} PATCHes at {w[0]:.1f}-{w[-1]:.1f}s" for w in too_big[:5]),
    )


def _refused_at_end(record: RunRecord) -> set[str]:
    """Nodes HSM still refuses when the run ends (an ``hsm`` event's ``refuse``)."""
    last: HsmChange | None = None
    for event in record.scenario.timeline:
        if isinstance(event, HsmChange):
            last = event
    if last is None or last.refuse is None:
        return set()
    return set(record.selection.resolve(last.refuse))


def _final_state(record: RunRecord, history: HsmHistory) -> Verdict:
    wrong: list[str] = []
    count = 0
    checked = 0
    power_polling = record.scenario.hsm.power_polling
    refused = _refused_at_end(record)
    for xname in record.scenario.fleet.nodes:
        if xname not in history or xname in refused:
            continue
        checked += 1
        truth = record.truth.at(xname, record.end)
        want = (truth.state, truth.flag)
        shown = history.final(xname)
        if shown == want or (power_polling and want == ("Standby", "Alert") and shown[0] == "Off"):
            continue
        if truth.within and shown == _before(record.truth, xname, truth):
            continue  # a level not due yet: HSM may still show what preceded it
        count += 1
        if len(wrong) < EXAMPLES:
            wrong.append(f"{xname}: HSM {label(*shown)}, truth {label(*want)}")
    return Verdict(
        name="final_state_matches_truth",
        kind="invariant",
        passed=count == 0,
        expected=f"HSM equals the truth at {format_duration(record.end)} for {checked} node(s)"
        + (f" ({len(refused)} refused by HSM, not judged)" if refused else ""),
        seen="all match" if not count else f"{count} differ, e.g. {wrong[0]}",
        details=tuple(wrong),
    )


def _before(truth: Truth, xname: str, change: TruthChange) -> tuple[str, str] | None:
    """The value HSM had to show just before ``change`` (one of ``xname``'s truths)."""
    history = truth.history(xname)
    index = history.index(change)
    return None if index == 0 else (history[index - 1].state, history[index - 1].flag)


def _had_in_window(truth: Truth, xname: str, value: tuple[str, str], a: float, b: float) -> bool:
    spans = truth.told(xname)
    for i, change in enumerate(spans):
        until = spans[i + 1].time if i + 1 < len(spans) else math.inf
        if change.time <= b and until >= a and (change.state, change.flag) == value:
            return True
    return False


def _no_stale(record: RunRecord, patches: Sequence[_Patch]) -> Verdict:
    fleet = record.truth.index
    stale: list[str] = []
    count = 0
    for patch in patches:
        value = (patch.state, patch.flag)
        for xname in patch.ids:
            if xname not in fleet:
                continue
            if _had_in_window(record.truth, xname, value, patch.time - STALE_TOLERANCE, patch.time):
                continue
            if not _had_in_window(record.truth, xname, value, -math.inf, patch.time):
                continue  # never had it: not stale (another check's business)
            count += 1
            if len(stale) < EXAMPLES:
                now = record.truth.at(xname, patch.time)
                stale.append(
                    f"{patch.time:.2f}s {xname} {label(*value)}, truth "
                    f"{label(now.state, now.flag)} since {now.time:.2f}s"
                )
    return Verdict(
        name="no_stale_patches",
        kind="invariant",
        passed=count == 0,
        expected="no PATCH sends a State/Flag the truth had already left",
        seen="none" if not count else f"{count} stale, first {stale[0]}",
        details=tuple(stale),
    )


def _messages(record: RunRecord, patches: Sequence[_Patch]) -> Verdict:
    fleet = record.truth.index
    bad: list[str] = []
    count = 0
    checked = 0
    told: dict[str, tuple[str, str]] = {}  # the last other State/Flag sent for each node
    for patch in patches:
        if patch.message is None:
            continue
        checked += 1
        allowed = MESSAGES.get((patch.state, patch.flag), ())
        if patch.message not in allowed:
            count += len(patch.ids)
            if len(bad) < EXAMPLES:
                bad.append(
                    f"{patch.time:.2f}s {label(patch.state, patch.flag)} with message "
                    f"{patch.message!r}"
                )
            continue
        if (patch.state, patch.flag) != ("Ready", "OK"):
            for xname in patch.ids:
                told[xname] = (patch.state, patch.flag)
            continue
        for xname in patch.ids:
            if xname not in fleet:
                continue
            cause = _latest_return(record.truth, xname, patch.time)
            # Ready/OK asserted again after another writer (a level) may say either.
            if cause is None or cause == "level" or _CAUSE_MESSAGE[cause] == patch.message:
                continue
            if not record.exact_time and _LEFT_MESSAGE.get(told.get(xname)) == patch.message:
                # Live time: a beat that landed on its deadline may have come just after it
                # for the tracker and just before it for the truth. The message then follows
                # the state the tracker told HSM, which hsm_follows_truth judges, with its
                # allowance. Virtual time is exact: there the truth's order is the law.
                continue
            count += 1
            if len(bad) < EXAMPLES:
                bad.append(
                    f"{patch.time:.2f}s {xname}: {patch.message!r}, truth {cause} "
                    f"(wants {_CAUSE_MESSAGE[cause]!r})"
                )
    return Verdict(
        name="messages_match_truth",
        kind="invariant",
        passed=count == 0,
        expected="HBTD's message on every PATCH; restarted after a warning, else started",
        seen=f"{checked} PATCH(es), all right" if not count else f"{count} wrong, {bad[0]}",
        details=tuple(bad),
    )


def _follows(record: RunRecord, patches: Sequence[_Patch]) -> Verdict:
    fleet = record.truth.index
    per_node: dict[str, list[StatePatch]] = {}
    for patch in patches:
        for xname in patch.ids:
            if xname in fleet:
                per_node.setdefault(xname, []).append((patch.time, patch.state, patch.flag))
    allowance = record.scenario.invariants.max_detection_lateness
    allowance = DEFAULT_LATENESS if allowance is None else allowance
    checked, count, examples = follows_truth(
        record.truth,
        per_node,
        allowance=allowance,
        away=[*record.hsm_faulted, *record.tracker_down],
    )
    seen = f"{checked} state(s) sent, all right"
    if count:
        seen = f"{count} wrong: {examples[0]}"
    return Verdict(
        name="hsm_follows_truth",
        kind="invariant",
        passed=count == 0,
        expected=(
            "HSM is told only states the truth had (within "
            f"{format_duration(allowance)}), in the truth's order"
        ),
        seen=seen,
        details=tuple(examples),
    )


def _latest_return(truth: Truth, xname: str, time: float) -> str | None:
    """The cause of the node's latest return to Ready/OK at or before ``time``."""
    cause: str | None = None
    for change in truth.told(xname):
        if change.time > time:
            break
        if change.cause in _CAUSE_MESSAGE or (
            change.cause == "level" and (change.state, change.flag) == ("Ready", "OK")
        ):
            cause = change.cause
    return cause

"""Reading ``expect`` and ``invariants``, and the checks that need the whole scenario."""

from __future__ import annotations

from yaml.nodes import Node, ScalarNode, SequenceNode

from ._checks_model import DEFAULT_LATENESS, Expectation, Invariants
from ._durations import format_duration
from ._model import Clock
from ._read_timeline import _TimelineReader
from ._selectors import (
    Selection,
)

__all__ = ["ScenarioReader"]


class ScenarioReader(_TimelineReader):
    """Reading ``expect`` and ``invariants``, and the checks that need the whole scenario."""

    # -- expectations and invariants ---------------------------------------------------

    def read_expectations(self, node: Node | None) -> list[Expectation]:
        if node is None:
            return []
        items = self.sequence(node, "expect", "expectations")
        out: list[Expectation] = []
        keys = ("name", "at", "by", "after", "nodes", "state", "flag", "heartbeating")
        for i, item in enumerate(items or ()):
            field = f"expect[{i}]"
            pairs = self.mapping(item, field, keys, required=("nodes",))
            if pairs is None:
                continue
            if ("at" in pairs) == ("by" in pairs):
                self.error(item, field, "expected exactly one of at and by")
                continue
            if "after" in pairs and "by" not in pairs:
                self.error(pairs["after"][0], f"{field}.after", "only goes with by")
                continue
            if not {"state", "flag", "heartbeating"} & pairs.keys():
                self.error(item, field, "expected at least one of state, flag and heartbeating")
                continue
            at = self.get(pairs, "at", field, self.time, None)
            by = self.get(pairs, "by", field, self.time, None)
            after = self.get(pairs, "after", field, self.time, 0.0)
            if by is not None and after > by:
                self.error(
                    pairs["after"][1],
                    f"{field}.after",
                    f"expected at most by ({format_duration(by)}), got {format_duration(after)}",
                )
                continue
            state = self.get(pairs, "state", field, self.state, None)
            flag = self.get(pairs, "flag", field, self.flag, None)
            beating = self.get(pairs, "heartbeating", field, self.boolean, None)
            selector = None
            if "nodes" in pairs:
                selector = self.selector(pairs["nodes"][1], f"{field}.nodes", top=True)
            if selector is None or (at is None and by is None):
                continue
            if (state, flag, beating) == (None, None, None):
                continue  # each was reported as it failed to convert
            name = self.get(pairs, "name", field, self.text, "")
            if not name:
                when = (
                    f"at {format_duration(at)}"
                    if at is not None
                    else (f"by {format_duration(by or 0.0)}")
                )
                wanted = "/".join(w for w in (state, flag) if w) or f"heartbeating={beating}"
                name = f"{selector.describe()} {wanted} {when}"
            out.append(
                Expectation(
                    name=name,
                    line=item.start_mark.line + 1,
                    nodes=selector,
                    at=at,
                    by=by,
                    after=after,
                    state=state,
                    flag=flag,
                    heartbeating=beating,
                )
            )
        return out

    def read_invariants(self, node: Node | None) -> Invariants:
        if node is None:
            return Invariants()
        keys = (
            "no_false_alarms",
            "max_detection_lateness",
            "max_patches_per_wave",
            "wave_gap",
            "final_state_matches_truth",
            "no_stale_patches",
            "messages_match_truth",
            "hsm_follows_truth",
        )
        pairs = self.mapping(node, "invariants", keys)
        if pairs is None:
            return Invariants()
        field = "invariants"
        lateness = self.get(pairs, "max_detection_lateness", field, self.duration_or_off, None)
        lines = {key: key_node.start_mark.line + 1 for key, (key_node, _) in pairs.items()}
        return Invariants(
            lines=lines,
            no_false_alarms=self.get(pairs, "no_false_alarms", field, self.boolean, True),
            max_detection_lateness=(
                DEFAULT_LATENESS if lateness is None else None if lateness < 0 else lateness
            ),
            max_patches_per_wave=self.get(
                pairs,
                "max_patches_per_wave",
                field,
                lambda n, f: self.integer(n, f, minimum=1),
                None,
            ),
            wave_gap=self.get(
                pairs, "wave_gap", field, lambda n, f: self.duration(n, f, positive=True), 5.0
            ),
            final_state_matches_truth=self.get(
                pairs, "final_state_matches_truth", field, self.boolean, True
            ),
            no_stale_patches=self.get(pairs, "no_stale_patches", field, self.boolean, False),
            messages_match_truth=self.get(pairs, "messages_match_truth", field, self.boolean, True),
            hsm_follows_truth=self.get(pairs, "hsm_follows_truth", field, self.boolean, True),
        )

    def clocks(self, node: Node, field: str) -> tuple[Clock, ...] | None:
        """``virtual``, ``live``, or a list of them."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        found: list[Clock] = []
        for item in items:
            value = item.value.strip().lower() if isinstance(item, ScalarNode) else None
            if value == "virtual" or value == "live":
                found.append(value)
            else:
                self.expected(item, field, "virtual or live")
                return None
        if not found:
            self.expected(node, field, "virtual, live or a list of them")
            return None
        return tuple(dict.fromkeys(found))

    def duration_or_off(self, node: Node, field: str) -> float | None:
        """A duration, or ``off`` (read as -1: not checked)."""
        if isinstance(node, ScalarNode) and node.value.strip().lower() in ("off", "none"):
            return -1.0
        return self.duration(node, field)

    # -- whole-scenario checks ---------------------------------------------------------

    def check_selections(self, seed: int) -> None:
        if not self.fleet:
            return
        selection = Selection(self.fleet, seed, self.named)
        for drawn, node, field in self.randoms:
            pool = len(selection.resolve(drawn.within)) if drawn.within else len(self.fleet)
            if drawn.fraction is None and drawn.count > pool:
                self.error(node, field, f"cannot draw {drawn.count} nodes from a pool of {pool}")
        for selector, node, field in self.to_check:
            if not selection.resolve(selector):
                self.error(node, field, f"{selector.describe()} selects no node of the fleet")

"""``hb-sim watch``: the live view pointed at any running tracker.

Theory of operation: each poll reads the list of nodes (from HSM's
``GET /hsm/v2/State/Components?type=Node``, which also gives each node's State and Flag, or
from a fixed list) and asks the tracker ``POST /hbstates`` about them in batches of at most
``batch`` names, one batch after the other so a big machine never lands on the tracker at once.
A node whose label changed between two polls is a *flip*, listed as a recent transition.

Every call runs under ``trio.fail_after`` and reads its answer within a bound (the node list
up to ``MAX_HSM_NODES`` nodes, a ``/hbstates`` answer about a kilobyte per name asked). A
failed call is one line in the view's notice (or
on stderr without a view), the last good state stays on screen, and the next poll tries
again: a watcher outlives the outages it is there to watch.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

import httpx
import trio

from hb_agent import AnswerRefused, BoundedAnswer, bound_for_items, fetch_bounded

from ..errors import HbSimError
from ..view import (
    CellState,
    LiveView,
    RecentTransition,
    ViewSnapshot,
    format_clock,
    hsm_count_label,
)

__all__ = ["WatchError", "Watcher", "read_xnames_file", "run_watch", "tracker_api_url"]

HEARTBEATING: Final = "heartbeating"
NOT_HEARTBEATING: Final = "not heartbeating"
#: Labels always shown, even at zero, so the counts panel does not jump around.
_HSM_LABELS: Final = ("Ready/OK", "Ready/Warning", "Standby/Alert", HEARTBEATING, NOT_HEARTBEATING)
_TRACKER_LABELS: Final = (HEARTBEATING, NOT_HEARTBEATING)
#: Flips kept for the transitions panel.
KEEP_TRANSITIONS: Final = 200
#: Flips echoed per poll without a live view; the rest are counted.
ECHO_FLIPS: Final = 20
#: Most nodes HSM's node list may have: the largest machines have tens of thousands. The list
#: is read to ``bound_for_items`` of this (about 100 MB) at most; a longer answer is refused.
MAX_HSM_NODES: Final = 100_000
HSM_LIST_LIMIT: Final = bound_for_items(MAX_HSM_NODES)


class WatchError(HbSimError):
    """One call of a poll failed; the message is one line, fit for the view's notice."""


def tracker_api_url(url: str) -> str:
    """The tracker's API base: ``http://host:port`` becomes ``http://host:port/hmi/v1``.

    Args:
        url: the ``--target`` URL, with or without the ``/hmi/v1`` path.

    Returns:
        The URL without a trailing slash, with ``/hmi/v1`` added when it had no path.
    """
    base = url.rstrip("/")
    return base + "/hmi/v1" if urlsplit(base).path in ("", "/") else base


def hsm_base_url(url: str) -> str:
    """HSM's base URL without ``/hsm/v2`` (``--hsm`` may be given either way)."""
    base = url.rstrip("/")
    return base.removesuffix("/hsm/v2")


def read_xnames_file(text: str) -> list[str]:
    """The names of an xnames file: one per line; blank lines and ``#`` comments skipped.

    Duplicates are dropped, keeping the first.
    """
    names: dict[str, None] = {}
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.setdefault(name, None)
    return list(names)


@dataclass(slots=True)
class _Node:
    heartbeating: bool | None = None
    state: str | None = None
    flag: str | None = None


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _describe(exc: Exception) -> str:
    detail = _one_line(str(exc))
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class Watcher:
    """The state of a watched system, brought up to date by ``poll``.

    Args:
        client: the HTTP client; its own timeouts may be off, every call has ``timeout``.
        target: the tracker's API base (``http://host:port/hmi/v1``).
        hsm: HSM's base URL (``http://host:port``), where the node list and states come from;
            None to watch the fixed ``xnames``.
        xnames: the nodes to watch when ``hsm`` is None.
        batch: most names per ``/hbstates`` request.
        timeout: seconds each call may take.
        clock: trio's clock by default, so a ``MockClock`` drives the watch in tests.

    Raises:
        ValueError: neither or both of ``hsm`` and ``xnames``, or a bad ``batch``/``timeout``.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        target: str,
        hsm: str | None = None,
        xnames: Sequence[str] = (),
        batch: int = 1000,
        timeout: float = 10.0,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        if (hsm is None) == (not xnames):
            raise ValueError("watch either HSM's node list (hsm) or a list of xnames, not both")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.client = client
        self.target = tracker_api_url(target)
        self.hsm = None if hsm is None else hsm_base_url(hsm)
        self.batch = batch
        self.timeout = timeout
        self.clock = clock
        self.start = clock()
        self.polls = 0
        self.problems: list[str] = []
        self.last_good: float | None = None
        self.transitions: deque[RecentTransition] = deque(maxlen=KEEP_TRANSITIONS)
        #: Flips found by the latest poll (also appended to ``transitions``).
        self.flips: list[RecentTransition] = []
        self._nodes: dict[str, _Node] = {name: _Node() for name in xnames}
        self._snapshot: ViewSnapshot | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the watch started."""
        return max(0.0, self.clock() - self.start)

    async def poll(self) -> None:
        """Bring the node list and states up to date; failures go to ``problems``."""
        now = self.elapsed
        self.problems = []
        self.flips = []
        if self.hsm is not None:
            try:
                components = await self._hsm_components()
            except WatchError as exc:
                self.problems.append(str(exc))
            else:
                self._apply_hsm(components, now)
        names = list(self._nodes)
        for start in range(0, len(names), self.batch):
            chunk = names[start : start + self.batch]
            try:
                states = await self._hbstates(chunk)
            except WatchError as exc:
                self.problems.append(str(exc))
                break
            for name, heartbeating in states:
                node = self._nodes.get(name)
                if node is None:
                    continue
                if node.heartbeating is not None and node.heartbeating != heartbeating:
                    self._flip(now, name, _hb_label(node.heartbeating), _hb_label(heartbeating))
                node.heartbeating = heartbeating
        if not self.problems:
            self.last_good = now
        self.polls += 1
        self._snapshot = None

    def snapshot(self) -> ViewSnapshot:
        """The current state as a frame of the live view, stamped with the current time."""
        if self._snapshot is None:
            self._snapshot = self._build()
        return replace(self._snapshot, time=self.elapsed)

    def counts_line(self) -> str:
        """One line of counts, ``1,000 nodes: 998 heartbeating, 2 not heartbeating``."""
        counts = ", ".join(f"{n:,} {label}" for label, n in self.snapshot().ordered_counts())
        return f"{len(self._nodes):,} nodes: {counts}"

    # -- internals -------------------------------------------------------------------------

    def _flip(self, now: float, name: str, before: str, after: str) -> None:
        change = RecentTransition(time=now, xname=name, before=before, after=after)
        self.flips.append(change)
        self.transitions.append(change)

    def _apply_hsm(self, components: list[tuple[str, str | None, str | None]], now: float) -> None:
        old = self._nodes
        self._nodes = {}
        for name, state, flag in sorted(components, key=lambda component: component[0]):
            node = old.get(name) or _Node()
            if node.state is not None:
                before, after = hsm_count_label(node.state, node.flag), hsm_count_label(state, flag)
                if before != after:
                    self._flip(now, name, before, after)
            node.state, node.flag = state, flag
            self._nodes[name] = node

    def _build(self) -> ViewSnapshot:
        counts: Counter[str] = Counter()
        cells: dict[str, CellState] = {}
        with_hsm = self.hsm is not None
        for label in _HSM_LABELS if with_hsm else _TRACKER_LABELS:
            counts[label] = 0
        for name, node in self._nodes.items():
            if node.heartbeating is not None:
                counts[_hb_label(node.heartbeating)] += 1
            elif not with_hsm:
                counts["unknown"] += 1
            if with_hsm:
                counts[hsm_count_label(node.state, node.flag)] += 1
            cells[name] = _cell(node, with_hsm=with_hsm)
        source = f"HSM {_host(self.hsm)}" if self.hsm is not None else "xnames file"
        return ViewSnapshot(
            title=f"watch {_host(self.target)} · {source}",
            time=self.elapsed,
            counts=dict(counts),
            transitions=tuple(self.transitions),
            nodes=cells,
            notice=self._notice(),
        )

    def _notice(self) -> str:
        if not self.problems:
            return ""
        notice = "; ".join(self.problems)
        if self.last_good is None:
            return notice + " (retrying)"
        return f"{notice} (retrying; showing the state of {format_clock(self.last_good)})"

    async def _call(self, what: str, method: str, url: str, *, limit: int, **kwargs: Any) -> Any:
        try:
            with trio.fail_after(self.timeout):
                response = await fetch_bounded(self.client, method, url, limit=limit, **kwargs)
        except trio.TooSlowError:
            raise WatchError(f"{what} {url}: no answer within {self.timeout:g} s") from None
        except AnswerRefused as exc:
            raise WatchError(
                f"{what} {url}: answered {exc.status_code} with more than {exc.limit:,} bytes"
            ) from None
        except httpx.HTTPError as exc:
            raise WatchError(f"{what} {url}: unreachable ({_describe(exc)})") from None
        if response.status_code != 200:
            raise WatchError(
                f"{what} {url}: answered {response.status_code} {_problem_detail(response)}"
            )
        try:
            return response.json()
        except ValueError:
            raise WatchError(f"{what} {url}: the answer is not JSON") from None

    async def _hsm_components(self) -> list[tuple[str, str | None, str | None]]:
        url = f"{self.hsm}/hsm/v2/State/Components"
        document = await self._call(
            "HSM", "GET", url, limit=HSM_LIST_LIMIT, params={"type": "Node"}
        )
        listed = document.get("Components") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            raise WatchError(f"HSM {url}: the answer has no Components list")
        components = []
        for item in listed:
            if isinstance(item, dict) and isinstance(item.get("ID"), str):
                state, flag = item.get("State"), item.get("Flag")
                components.append(
                    (
                        item["ID"],
                        state if isinstance(state, str) else None,
                        flag if isinstance(flag, str) else None,
                    )
                )
        return components

    async def _hbstates(self, names: list[str]) -> list[tuple[str, bool]]:
        url = f"{self.target}/hbstates"
        limit = bound_for_items(len(names))
        document = await self._call("tracker", "POST", url, limit=limit, json={"XNames": names})
        listed = document.get("HBStates") if isinstance(document, dict) else None
        if not isinstance(listed, list) or not all(isinstance(s, dict) for s in listed):
            raise WatchError(f"tracker {url}: the answer has no HBStates list")
        answers = [bool(item.get("Heartbeating")) for item in listed]
        if len(answers) == len(names):
            # Answers come in the order asked, so a tracker that echoes names normalized still
            # matches the names asked for.
            return list(zip(names, answers, strict=True))
        return [
            (item["XName"], answer)
            for item, answer in zip(listed, answers, strict=True)
            if isinstance(item.get("XName"), str)
        ]


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def _hb_label(heartbeating: bool) -> str:
    return HEARTBEATING if heartbeating else NOT_HEARTBEATING


def _cell(node: _Node, *, with_hsm: bool) -> CellState:
    if with_hsm and node.state is not None:
        return CellState.from_hsm(node.state, node.flag)
    if node.heartbeating is None:
        return CellState.UNKNOWN
    return CellState.OK if node.heartbeating else CellState.ALERT


def _problem_detail(response: BoundedAnswer) -> str:
    try:
        document = response.json()
    except ValueError:
        return _one_line(response.text, 80)
    if isinstance(document, dict) and isinstance(document.get("detail"), str):
        return _one_line(document["detail"], 80)
    return _one_line(response.text, 80)


def flip_lines(watcher: Watcher) -> list[str]:
    """Log lines for the flips of the latest poll, at most ``ECHO_FLIPS`` and a count."""
    lines = [
        f"{format_clock(change.time)} {change.xname} {change.before} -> {change.after}"
        for change in watcher.flips[:ECHO_FLIPS]
    ]
    if len(watcher.flips) > ECHO_FLIPS:
        more = len(watcher.flips) - ECHO_FLIPS
        lines.append(f"{format_clock(watcher.elapsed)} ... and {more} more flips")
    return lines


async def run_watch(
    watcher: Watcher,
    *,
    interval: float,
    view: LiveView | None = None,
    echo: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Poll every ``interval`` seconds until cancelled, showing each result.

    Args:
        watcher: what to poll.
        interval: seconds from the start of one poll to the start of the next.
        view: the live view to update after each poll, if any.
        echo: called with log lines after each poll: the flips, and the counts when they
            changed.
        warn: called with the notice when a poll fails differently from the one before.
        task_status: started after the first poll.
    """
    started = False
    last_counts = ""
    last_problems: list[str] = []
    while True:
        next_poll = trio.current_time() + interval
        await watcher.poll()
        snapshot = watcher.snapshot()
        if view is not None:
            view.update(snapshot, refresh=True)
        if echo is not None:
            for line in flip_lines(watcher):
                echo(line)
            counts = watcher.counts_line()
            if counts != last_counts:
                echo(f"{format_clock(watcher.elapsed)} {counts}")
                last_counts = counts
        if warn is not None and watcher.problems and watcher.problems != last_problems:
            warn(snapshot.notice)
        last_problems = watcher.problems
        if not started:
            task_status.started()
            started = True
        await trio.sleep_until(next_poll)

"""The live fleet: simulated agents heartbeating real trackers over real sockets.

Theory of operation: each of ``connections`` tasks owns every ``connections``-th node and
sends its heartbeats in time order on one keep-alive trio + httptools connection, from a deadline
heap of (due, node, kind). A node's next heartbeat is due one interval (plus seeded jitter)
after the previous one was *due*, so a fleet that fell behind catches up instead of drifting.
The timeline's levers (stop, revive, shut down, cut, delay) act on per-node modes.

Several tracker URLs may be given: like a load balancer, a connection that fails moves to the
next URL at once and the heartbeat is tried there (each URL once).

The fleet measures its own schedule: for every node, the gap between two heartbeats it sent
in a row. A gap longer than the interval plus twice the jitter is the fleet's own lateness
(a busy machine), not the scenario's; ``gaps`` names the worst, so a run can tell a tracker
that warned a node the fleet really left silent from a tracker that is wrong.
"""

from __future__ import annotations

import datetime
import heapq
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

import httptools
import trio

from hbtd_server.core import SHUTDOWN_STATUS

from ..xnames import bogus_nid
from ._http import Deadlines, HeartbeatRejected, HttpConnection
from ._protocol import DeliveryLog

__all__ = ["LiveFleet", "ScheduleGap"]

#: Gaps kept per fleet for the report (the worst ones).
WORST_GAPS: Final = 5

_DEAD: Final = 1
_CUT: Final = 2
_BEAT: Final = 0
_LATE: Final = 1  # a delayed heartbeat, sent late on purpose
_SHUTDOWN: Final = 2

_NETWORK_ERRORS: Final = (
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    httptools.HttpParserError,
)


@dataclass(frozen=True, slots=True)
class ScheduleGap:
    """The fleet's own lateness for one node: two heartbeats sent ``gap`` seconds apart.

    Attributes:
        xname: the node.
        at: when the later heartbeat was sent (seconds from the start of the run).
        gap: seconds since the node's previous heartbeat.
        allowed: the longest gap the agent timing allows (interval plus twice the jitter).
    """

    xname: str
    at: float
    gap: float
    allowed: float

    def describe(self) -> str:
        """One line: ``x1000c0s0b0n0: 7.4 s between heartbeats at 31.2 s (allowed 1.1 s)``."""
        return (
            f"{self.xname}: {self.gap:.1f} s between heartbeats at {self.at:.1f} s "
            f"(allowed {self.allowed:.1f} s)"
        )


def _address(target: str) -> tuple[str, int]:
    parts = urlsplit(target if "//" in target else f"http://{target}")
    return parts.hostname or "127.0.0.1", parts.port or 80


class LiveFleet:
    """Simulated agents sending heartbeats to one or more trackers' ``/hmi/v1``.

    Args:
        targets: the trackers' base URLs (``http://host:port``); failover in this order.
        xnames: the nodes, in fleet order (the levers take indexes into it).
        interval: seconds between one node's heartbeats.
        jitter: each heartbeat moves by up to this much either way (seeded).
        start_spread: first heartbeats are drawn over this many seconds; None spreads them
            evenly over one interval, so the load is even from the start.
        status: the Status of every heartbeat.
        route: ``xname`` posts to ``/heartbeat/{xname}``; ``full`` posts upstream's body
            (Component, Hostname, NID) to ``/heartbeat``.
        connections: keep-alive connections to share among the nodes.
        rng: the seeded generator of phases and jitter.
        log: told of every heartbeat that reaches a tracker's address (the run's truth).
    """

    def __init__(
        self,
        *,
        targets: Sequence[str],
        xnames: Sequence[str],
        interval: float,
        jitter: float = 0.0,
        start_spread: float | None = None,
        status: str = "OK",
        route: Literal["xname", "full"] = "xname",
        connections: int = 32,
        rng: random.Random | None = None,
        log: DeliveryLog | None = None,
    ) -> None:
        if not targets:
            raise ValueError("need at least one tracker URL")
        self.addresses = [_address(t) for t in targets]
        #: Cuts off a POST that takes too long (a tracker that stopped answering mid-answer).
        self._deadlines = Deadlines()
        self.xnames = tuple(xnames)
        self.interval = interval
        self.jitter = jitter
        self.status = status
        self.route = route
        self.log = log
        self.connections = max(1, min(connections, len(self.xnames)))
        self._rng = rng or random.Random(0)
        self.start = 0.0
        #: Heartbeats the agents sent (a lost one included).
        self.sent = 0
        #: Heartbeats that reached a tracker's address (not lost by a cut).
        self.delivered = 0
        #: Heartbeats a tracker answered 200.
        self.answered = 0
        #: Heartbeats not answered 200: refused, or no tracker reachable.
        self.failed = 0
        #: Connection attempts that failed (a tracker away); each moves to the next URL.
        self.unreachable = 0
        #: Answers by HTTP status.
        self.answers: Counter[int] = Counter()
        #: The refusals (status other than 200), for tests to show.
        self.rejected: list[HeartbeatRejected] = []
        #: Per node, when its last heartbeat was sent and answered 200 (trio time).
        self.last_sent: dict[str, float] = {}
        self.last_acked: dict[str, float] = {}
        self.allowed_gap = interval + 2 * jitter
        self._gaps: list[tuple[float, int, float]] = []  # min-heap of the worst (gap, node, at)
        self._prev_beat = [-1.0] * len(self.xnames)
        self._mode = [0] * len(self.xnames)
        self._delay = [0.0] * len(self.xnames)
        self._scheduled = [True] * len(self.xnames)
        self._heaps: list[list[tuple[float, int, int]]] = [[] for _ in range(self.connections)]
        count = len(self.xnames)
        for node in range(count):
            if start_spread is None:
                first = interval * node / count
            else:
                first = self._rng.uniform(0.0, start_spread) if start_spread > 0 else 0.0
            self._heaps[node % self.connections].append((first, node, _BEAT))
        for heap in self._heaps:
            heapq.heapify(heap)
        self._pokes = [trio.Event() for _ in range(self.connections)]
        self._index = {x: i for i, x in enumerate(self.xnames)}

    # -- the timeline's levers ------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the fleet started."""
        return trio.current_time() - self.start

    def stop(self, nodes: Sequence[int]) -> None:
        """The agents stop until ``revive``."""
        for node in nodes:
            self._mode[node] |= _DEAD

    def revive(self, nodes: Sequence[int]) -> None:
        """The agents run again and send at once."""
        now = self.now()
        for node in nodes:
            self._mode[node] &= ~_DEAD
            if not self._scheduled[node]:
                self._scheduled[node] = True
                self._prev_beat[node] = -1.0
                self._push(node, now, _BEAT)

    def shut_down(self, nodes: Sequence[int]) -> None:
        """The agents send one heartbeat with Status ``Shutdown`` at once, then stop."""
        now = self.now()
        for node in nodes:
            self._mode[node] |= _DEAD
            self._push(node, now, _SHUTDOWN)

    def cut(self, nodes: Sequence[int], *, lost: bool) -> None:
        """The network loses (``lost``) or carries again the nodes' heartbeats."""
        for node in nodes:
            self._mode[node] = self._mode[node] | _CUT if lost else self._mode[node] & ~_CUT

    def delay(self, nodes: Sequence[int], by: float) -> None:
        """From now on the nodes' heartbeats arrive ``by`` seconds late (0: on time)."""
        for node in nodes:
            self._delay[node] = by

    def silence(self, xnames: Sequence[str]) -> None:
        """``stop`` by name."""
        self.stop([self._index[x] for x in xnames])

    def resume(self, xnames: Sequence[str]) -> None:
        """``revive`` by name."""
        self.revive([self._index[x] for x in xnames])

    def _push(self, node: int, at: float, kind: int) -> None:
        owner = node % self.connections
        heapq.heappush(self._heaps[owner], (at, node, kind))
        self._pokes[owner].set()

    # -- its own schedule -----------------------------------------------------------------

    def gaps(self) -> list[ScheduleGap]:
        """The worst gaps between two heartbeats of a node beyond what the timing allows.

        Returns:
            At most ``WORST_GAPS``, the longest first; empty when the fleet kept its schedule.
        """
        return [
            ScheduleGap(self.xnames[node], at, gap, self.allowed_gap)
            for gap, node, at in sorted(self._gaps, reverse=True)
        ]

    def _note_gap(self, node: int, now: float) -> None:
        prev = self._prev_beat[node]
        self._prev_beat[node] = now
        if prev < 0:
            return
        gap = now - prev
        # A little scheduling noise is not lateness: 50 ms or 5 % of the interval.
        if gap <= self.allowed_gap + max(0.05, 0.05 * self.interval):
            return
        entry = (gap, node, now)
        if len(self._gaps) < WORST_GAPS:
            heapq.heappush(self._gaps, entry)
        elif gap > self._gaps[0][0]:
            heapq.heapreplace(self._gaps, entry)

    # -- running --------------------------------------------------------------------------

    async def run(
        self,
        start: float | None = None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Send until cancelled.

        Args:
            start: the trio time of time 0 of the schedule; now when None.
        """
        self.start = trio.current_time() if start is None else start
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._deadlines.run)
            for index in range(self.connections):
                nursery.start_soon(self._connection, index)
            task_status.started()

    async def _connection(self, index: int) -> None:
        heap = self._heaps[index]
        turn = index % len(self.addresses)
        conn = HttpConnection(*self.addresses[turn], self._deadlines)
        interval, jitter = self.interval, self.jitter
        try:
            while True:
                if not heap:
                    self._pokes[index] = trio.Event()
                    await self._pokes[index].wait()
                    continue
                due = heap[0][0]
                if trio.current_time() < self.start + due:
                    self._pokes[index] = trio.Event()
                    with trio.move_on_at(self.start + due):
                        await self._pokes[index].wait()
                    continue
                due, node, kind = heapq.heappop(heap)
                mode = self._mode[node]
                status = self.status
                if kind == _SHUTDOWN:
                    status = SHUTDOWN_STATUS
                    self.sent += 1
                    if mode & _CUT:
                        continue
                    if self.log is not None:
                        self.log.shutdown(node, self.now())
                elif kind == _BEAT:
                    if mode & _DEAD:
                        self._scheduled[node] = False
                        continue
                    self.sent += 1
                    self._note_gap(node, self.now())
                    nominal = due + interval
                    if jitter:
                        nominal += jitter * (2.0 * self._rng.random() - 1.0)
                    heapq.heappush(heap, (max(nominal, due), node, _BEAT))
                    if mode & _CUT:
                        continue
                    if self._delay[node] > 0:
                        heapq.heappush(heap, (due + self._delay[node], node, _LATE))
                        continue
                    if self.log is not None:
                        self.log.delivered(node, self.now())
                else:
                    if self.log is not None:
                        self.log.delivered(node, self.now())
                self.delivered += 1
                conn, turn = await self._post(conn, turn, node, status)
        finally:
            with trio.CancelScope(shield=True):
                await conn.aclose()

    def _request(self, xname: str, status: str) -> tuple[str, bytes]:
        stamp = datetime.datetime.now(datetime.UTC).isoformat().encode()
        if self.route == "xname":
            body = b'{"Status":"%s","TimeStamp":"%s"}' % (status.encode(), stamp)
            return f"/hmi/v1/heartbeat/{xname}", body
        body = (
            b'{"Component":"%s","Hostname":"%s","NID":"%d","Status":"%s","TimeStamp":"%s"}'
            % (xname.encode(), xname.encode(), bogus_nid(xname) or 0, status.encode(), stamp)
        )  # fmt: skip
        return "/hmi/v1/heartbeat", body

    async def _post(
        self, conn: HttpConnection, turn: int, node: int, status: str
    ) -> tuple[HttpConnection, int]:
        xname = self.xnames[node]
        path, body = self._request(xname, status)
        self.last_sent[xname] = trio.current_time()
        for _ in self.addresses:
            try:
                code, answer = await conn.post(path, body)
            except _NETWORK_ERRORS:
                # The tracker is away (a restart, a failover): try the next one at once;
                # with one URL, like a real agent, try again at the next heartbeat.
                self.unreachable += 1
                await conn.aclose()
                turn = (turn + 1) % len(self.addresses)
                conn = HttpConnection(*self.addresses[turn], self._deadlines)
                continue
            self.answers[code] += 1
            if code == 200:
                self.answered += 1
                self.last_acked[xname] = trio.current_time()
            else:
                self.failed += 1
                self.rejected.append(HeartbeatRejected(code, answer))
            return conn, turn
        self.failed += 1
        return conn, turn

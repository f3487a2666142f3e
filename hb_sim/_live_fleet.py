"""A fleet of simulated nodes heartbeating a real tracker over real sockets (live clock).

Each node beats every ``period`` seconds at its own phase, spread evenly, over a few keep-alive
connections (trio + httptools, #12). Nodes can be silenced and resumed at any time; a resumed
node beats at once. For every node the fleet remembers when its last heartbeat was sent and
acknowledged, so a test can bound how late the tracker reported it.
"""

from __future__ import annotations

import datetime
import heapq
import math
from collections.abc import Iterable

import trio

from ._http_client import HeartbeatRejected, HttpConnection

__all__ = ["LiveFleet"]


class LiveFleet:
    """Simulated nodes sending heartbeats to ``http://host:port/hmi/v1``.

    Args:
        host: tracker address.
        port: tracker port.
        xnames: the nodes.
        period: seconds between one node's heartbeats.
        connections: keep-alive connections to share among the nodes.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        xnames: Iterable[str],
        period: float,
        connections: int = 20,
    ) -> None:
        self.host = host
        self.port = port
        self.xnames = list(xnames)
        self.period = period
        self.connections = max(1, min(connections, len(self.xnames)))
        self.silenced: set[str] = set()
        self.last_sent: dict[str, float] = {}
        self.last_acked: dict[str, float] = {}
        self.sent = 0
        self.rejected: list[HeartbeatRejected] = []
        self._resumed: list[trio.Event] = [trio.Event() for _ in range(self.connections)]
        self._owner = {x: i % self.connections for i, x in enumerate(self.xnames)}
        self._pending_resume: list[set[str]] = [set() for _ in range(self.connections)]

    def silence(self, xnames: Iterable[str]) -> None:
        """Stop these nodes' heartbeats (they die, or their network is cut)."""
        self.silenced.update(xnames)

    def resume(self, xnames: Iterable[str]) -> None:
        """Let these nodes beat again, starting at once."""
        for xname in xnames:
            self.silenced.discard(xname)
            owner = self._owner[xname]
            self._pending_resume[owner].add(xname)
            self._resumed[owner].set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Beat until cancelled."""
        async with trio.open_nursery() as nursery:
            for index in range(self.connections):
                nursery.start_soon(self._connection_loop, index)
            task_status.started()

    async def _connection_loop(self, index: int) -> None:
        start = trio.current_time()
        mine = self.xnames[index :: self.connections]
        count = len(self.xnames)
        # Phases spread over the period across all nodes, so the load is even.
        schedule = [
            (start + self.period * (index + i * self.connections) / count, xname)
            for i, xname in enumerate(mine)
        ]
        heapq.heapify(schedule)
        # The one valid entry per node; others in the heap are stale (lazy deletion).
        next_due = {xname: due for due, xname in schedule}
        conn = HttpConnection(self.host, self.port)
        try:
            while True:
                if not schedule or schedule[0][0] > trio.current_time():
                    # Nothing due: sleep until something is, or a node is resumed. (When a
                    # beat is already due, skip the cancel scope: at 4,000 beats/s it shows.)
                    with trio.move_on_at(schedule[0][0] if schedule else math.inf):
                        await self._resumed[index].wait()
                if self._resumed[index].is_set():
                    self._resumed[index] = trio.Event()
                now = trio.current_time()
                for xname in self._pending_resume[index]:
                    next_due[xname] = now
                    heapq.heappush(schedule, (now, xname))
                self._pending_resume[index].clear()
                if not schedule or schedule[0][0] > now:
                    continue
                due, xname = heapq.heappop(schedule)
                if next_due.get(xname) != due:
                    continue
                if xname in self.silenced:
                    del next_due[xname]  # off the schedule until resumed
                    continue
                body = b'{"Status":"OK","TimeStamp":"%s"}' % _iso_now().encode()
                self.last_sent[xname] = trio.current_time()
                status, answer = await conn.post(f"/hmi/v1/heartbeat/{xname}", body)
                self.sent += 1
                if status == 200:
                    self.last_acked[xname] = trio.current_time()
                else:
                    self.rejected.append(HeartbeatRejected(status, answer))
                next_due[xname] = max(due + self.period, now)
                heapq.heappush(schedule, (next_due[xname], xname))
        finally:
            with trio.CancelScope(shield=True):
                await conn.aclose()


def _iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()

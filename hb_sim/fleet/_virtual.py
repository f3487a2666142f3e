"""The virtual fleet: every node's heartbeats, fed straight into an in-process tracker.

Theory of operation: a run of 10,000 nodes at 3 s for an hour is 12 million heartbeats, so
there is no task and no sleep per heartbeat. Time is cut into slots (1/16 s by default); a ring
of buckets holds, for each slot, the nodes whose next heartbeat falls in it. One task wakes at
each non-empty slot and hands every heartbeat of the bucket to ``deliver`` (``engine.heartbeat``)
and to the truth, then files each node's next heartbeat (interval plus seeded jitter) into a
later bucket. Heartbeats thus arrive at slot boundaries: up to one slot early, the same for the
tracker and the truth. Nodes are indexes; a per-node mode says whether its agent is stopped,
its network cut or its heartbeats delayed, so the common case costs one list lookup.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import trio
import trio.testing

from hbtd_server.core import SHUTDOWN_STATUS, Heartbeat

from ._protocol import DeliveryLog

__all__ = ["DEFAULT_SLOT", "VirtualFleet"]

#: Width of a time slot, in seconds: a power of two, so that every slot time, and a slot time
#: plus a whole number of seconds (a deadline), is exact in floating point. A heartbeat that
#: falls exactly on a deadline is then a true tie, decided the one documented way.
DEFAULT_SLOT = 1 / 16

_DEAD = 1
_CUT = 2
_DELAYED = 4


def _ignore(_heartbeat: Heartbeat) -> None:
    pass


class VirtualFleet:
    """Simulated agents on a slotted schedule.

    Args:
        nodes: the fleet (normalized xnames).
        interval: seconds between one node's heartbeats.
        jitter: each heartbeat moves by up to this much either way (seeded).
        start_spread: first heartbeats are drawn over this many seconds (0: all at once).
        status: the Status every heartbeat carries.
        log: told of every heartbeat that gets through (the run's truth).
        rng: the seeded generator of jitter and start phases.
        start: trio time of the start of the run (time 0 of the scenario).
        slot: slot width in seconds.
        max_delay: the longest ``delay`` of the scenario, to size the ring.
        timestamp: the TimeStamp every heartbeat carries (the tracker only keeps it).
    """

    def __init__(
        self,
        *,
        nodes: Sequence[str],
        interval: float,
        jitter: float = 0.0,
        start_spread: float = 0.0,
        status: str = "OK",
        log: DeliveryLog,
        rng: random.Random,
        start: float,
        slot: float = DEFAULT_SLOT,
        max_delay: float = 0.0,
        timestamp: str = "1970-01-01T00:00:00Z",
    ) -> None:
        self.nodes = tuple(nodes)
        self.truth = log
        self.start = start
        self.slot = slot
        self.interval = interval
        self.jitter = jitter
        self._rng = rng
        # Prebuilt: a Heartbeat is immutable and the tracker reads only its fields.
        self._heartbeats = [Heartbeat(x, status, timestamp) for x in self.nodes]
        self._timestamp = timestamp
        #: Where each heartbeat goes; ``None`` while the tracker is away.
        self.deliver: Callable[[Heartbeat], None] = _ignore
        self.sent = 0
        self.delivered = 0
        # A next heartbeat is at most interval + 2 * jitter ahead (jitter on both ends).
        size = int((self.interval + 2 * self.jitter + max_delay) / slot) + 4
        self._ring: list[list[int]] = [[] for _ in range(size)]
        self._late: list[list[int]] = [[] for _ in range(size)]  # delayed deliveries
        self._mode = [0] * len(self.nodes)
        self._delay_slots = [0] * len(self.nodes)
        self._nominal = [0.0] * len(self.nodes)
        self._scheduled = [False] * len(self.nodes)
        self._done = -1  # last slot processed
        #: trio time of the batch being handed over, else None (see ``clock``).
        self.batch_time: float | None = None
        self._poke = trio.Event()
        spread = start_spread
        for node in range(len(self.nodes)):
            self.schedule(node, rng.uniform(0.0, spread) if spread > 0 else 0.0)

    # -- the timeline's levers ------------------------------------------------------------

    def schedule(self, node: int, at: float) -> None:
        """File ``node``'s next heartbeat at ``at`` (seconds from the start), or just after."""
        k = max(int(at / self.slot), self._done + 1)
        self._nominal[node] = at
        self._scheduled[node] = True
        self._ring[k % len(self._ring)].append(node)
        self._poke.set()

    def stop(self, nodes: Sequence[int]) -> None:
        """The agents stop (a crash, a power loss): no more heartbeats until ``revive``."""
        for node in nodes:
            self._mode[node] |= _DEAD

    def revive(self, nodes: Sequence[int]) -> None:
        """The agents run again and send at once."""
        now = trio.current_time() - self.start
        for node in nodes:
            self._mode[node] &= ~_DEAD
            if not self._scheduled[node]:
                self.schedule(node, now)

    def shut_down(self, nodes: Sequence[int]) -> None:
        """The agents send one heartbeat with Status ``Shutdown`` at once, then stop."""
        now = trio.current_time() - self.start
        for node in nodes:
            self._mode[node] |= _DEAD
            if self._mode[node] & _CUT:
                continue
            self.sent += 1
            self.delivered += 1
            self.deliver(Heartbeat(self.nodes[node], SHUTDOWN_STATUS, self._timestamp))
            self.truth.shutdown(node, now)

    def cut(self, nodes: Sequence[int], *, lost: bool) -> None:
        """The network loses (``lost``) or carries again the nodes' heartbeats."""
        for node in nodes:
            if lost:
                self._mode[node] |= _CUT
            else:
                self._mode[node] &= ~_CUT

    def delay(self, nodes: Sequence[int], by: float) -> None:
        """From now on the nodes' heartbeats arrive ``by`` seconds late (0: on time)."""
        slots = round(by / self.slot)
        for node in nodes:
            self._delay_slots[node] = slots
            if slots:
                self._mode[node] |= _DELAYED
            else:
                self._mode[node] &= ~_DELAYED

    # -- running --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Play the heartbeats until cancelled."""
        task_status.started()
        ring, late = self._ring, self._late
        size = len(ring)
        while True:
            k = self._next_slot()
            if k is None:
                self._poke = trio.Event()
                await self._poke.wait()
                continue
            at = self.start + k * self.slot
            if k == self._done + 1:
                # Nothing can be filed before the very next slot: a plain sleep will do.
                await trio.sleep_until(at)
            elif trio.current_time() < at:
                self._poke = trio.Event()
                with trio.move_on_at(at):
                    await self._poke.wait()
                if trio.current_time() < at:
                    continue  # something was filed meanwhile: it may be due sooner
            # A tracker deadline at this very instant fires before these heartbeats arrive,
            # as the truth assumes: every other task that woke now runs first. (The
            # MockClock's autojump waits behind this, so time does not move meanwhile.)
            await trio.testing.wait_all_tasks_blocked()
            self._play(k, ring, late, size)

    def _next_slot(self) -> int | None:
        ring, late = self._ring, self._late
        size = len(ring)
        # After an idle spell (every agent stopped) the ring restarts from the current slot:
        # buckets are indexed modulo the ring, so scanning from a stale slot would find an
        # entry one or more turns of the ring too early.
        current = int((trio.current_time() - self.start) / self.slot)
        first = max(self._done + 1, current)
        for k in range(first, first + size):
            if ring[k % size] or late[k % size]:
                return k
        return None

    def _play(self, k: int, ring: list[list[int]], late: list[list[int]], size: int) -> None:
        # The hot loop of a virtual run: keep it flat.
        self._done = k
        now = k * self.slot
        # While the batch is handed over, the tracker's clock reads this instead of asking
        # the MockClock once per heartbeat (it is the same instant: nothing else runs).
        self.batch_time = trio.current_time()
        index = k % size
        bucket = ring[index]
        ring[index] = []
        deliver = self.deliver
        heartbeats = self._heartbeats
        mode = self._mode
        nominal = self._nominal
        last = self.truth.last
        min_warntime = self.truth.min_warntime
        gap = self.truth.gap
        interval, jitter, inv = self.interval, self.jitter, 1.0 / self.slot
        rand = self._rng.random
        delivered = 0
        stopped = 0
        for node in bucket:
            if mode[node]:
                if mode[node] & _DEAD:
                    self._scheduled[node] = False
                    stopped += 1
                    continue
                if not mode[node] & _CUT:
                    late[(k + self._delay_slots[node]) % size].append(node)
            else:
                deliver(heartbeats[node])
                delivered += 1
                prev = last[node]
                last[node] = now
                if now - prev >= min_warntime:
                    gap(node, prev, now)
            t = nominal[node] + interval
            nominal[node] = t
            if jitter:
                t += jitter * (2.0 * rand() - 1.0)
            slot = int(t * inv)
            if slot <= k:
                slot = k + 1
            ring[slot % size].append(node)
        self.sent += len(bucket) - stopped
        if late[index]:
            arrived = late[index]
            late[index] = []
            for node in arrived:
                deliver(heartbeats[node])
                delivered += 1
                self.truth.delivered(node, now)
        self.delivered += delivered
        self.batch_time = None

    def clock(self) -> float:
        """The current trio time, cheap during a batch: give it to the tracker as its clock."""
        batch = self.batch_time
        return batch if batch is not None else trio.current_time()

"""The telemetry bus: one Kafka message per heartbeat change, from a bounded buffer (issue 6).

Theory of operation. Unlike the HSM notifier, which is level-triggered, telemetry is
edge-triggered: every transition becomes one message in upstream's shape, keyed by the
component, so a consumer sees each component's changes in order. The engine calls the
publisher (a transition listener) on the trio thread; the publisher only appends to its
buffer, so heartbeat intake and HSM notifications never wait on Kafka.

One trio task drains the buffer into a confluent-kafka ``Producer`` (idempotent, acks=all,
no delivery timeout). The producer's blocking calls (``poll``, ``list_topics``, ``purge``,
``close``) run in worker threads; its callbacks only append to a thread-safe deque that the
trio task reads after each call returns. A message leaves the buffer only when its delivery is
confirmed, so while the broker is down, slow or being changed, messages wait:

* *waiting* messages have not been handed to the producer yet; *in flight* ones have. At most
  ``window`` (at most half the capacity) are in flight. While the broker is unreachable
  nothing new is handed over; the producer keeps what it has and, being idempotent, resends it
  after the reconnect without duplicates. (Purging it back would not do: librdkafka requeues
  messages whose acknowledgement was lost, and a purge would take those too, so resending them
  would duplicate what the broker already has.)
* Overflow (more than ``capacity`` messages held) drops the oldest waiting messages, counts
  them and logs once when drops start and once when they stop.
* Telemetry turned off discards what is held (counted, logged): no stale backlog is sent when
  it is turned on again. A changed ``Telemetry_host`` closes the producer and sends what is
  held to the new broker and topic.
* Connection: a metadata request (``list_topics``) probes the broker, with exponential backoff
  between failures; librdkafka reconnects its sockets by itself. A fatal producer error, or a
  delivery error other than a purge, replaces the producer and resends everything
  unconfirmed, in order (at least once).

Upstream's silent drops (while disconnected, while disabled, and when its queue is full) are
not copied (docs/telemetry.md).
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import confluent_kafka
import trio

from ..core import Params, Transition, parse_telemetry_host, plural
from ..engine import Engine
from ._kafka import (
    BACKOFF_MAX,
    BACKOFF_MIN,
    PROBE_TIMEOUT,
    PURGED,
    BlockingRunner,
    BusTarget,
    ProducerFactory,
    ProducerLike,
    close_producer,
    in_worker_thread,
    kafka_producer,
    probe,
    producer_config,
)
from ._telemetry_message import encode_message

__all__ = [
    "CONNECTED",
    "DEFAULT_CAPACITY",
    "DEFAULT_WINDOW",
    "NOT_CONNECTED",
    "MsgBusHealth",
    "TelemetryPublisher",
    "msgbus_health",
    "run_telemetry",
]

log = logging.getLogger("hbtd.telemetry")

#: Upstream's queue holds 50,000 messages (``track.go:162``).
DEFAULT_CAPACITY = 50_000
#: Most messages handed to the producer and not yet confirmed.
DEFAULT_WINDOW = 10_000
#: Upstream's ``MsgBus`` strings for ``/health``.
CONNECTED = "Connected and OPEN"
NOT_CONNECTED = "Not Connected"

#: Poll period while messages are in flight, and while idle (to notice a broker going away).
_POLL_BUSY = 0.05
_POLL_IDLE = 1.0
#: Messages handed to the producer between two polls, so a wave never hogs the trio thread.
_FEED_CHUNK = 1_000

_T = TypeVar("_T")


class _Entry:
    # One transition waiting for a confirmed delivery; encoded only when handed over.
    __slots__ = ("key", "seq", "transition")

    def __init__(self, seq: int, transition: Transition) -> None:
        self.seq = seq
        self.transition = transition
        self.key = transition.xname.encode()


class _Ticket:
    # The delivery callback of one produce call: it runs on a producer thread and only appends.
    __slots__ = ("entry", "session", "sink")

    def __init__(self, entry: _Entry, session: int, sink: collections.deque[_Report]) -> None:
        self.entry = entry
        self.session = session
        self.sink = sink

    def __call__(self, error: Any, _message: Any) -> None:
        self.sink.append((self.session, self, error, 0.0))


#: (session, ticket or None for a client error, KafkaError or None, monotonic time of an error)
_Report = tuple[int, _Ticket | None, Any, float]


class _SessionFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class MsgBusHealth:
    """The telemetry members of ``/health``."""

    status: str
    detail: str
    queued: int = 0
    dropped: int = 0
    discarded: int = 0
    delivered: int = 0
    last_error: str = ""

    def extensions(self) -> dict[str, object]:
        """Extension members, after upstream's three."""
        return {
            "MsgBusDetail": self.detail,
            "MsgBusQueued": self.queued,
            "MsgBusDropped": self.dropped,
            "MsgBusDiscarded": self.discarded,
            "MsgBusDelivered": self.delivered,
            "MsgBusLastError": self.last_error,
        }


class TelemetryPublisher:
    """Publishes transitions on the telemetry bus; register it as an engine listener.

    Args:
        capacity: most messages held (waiting plus in flight) before the oldest are dropped.
        window: most messages handed to the producer and not yet confirmed (at most half of
            ``capacity``, so overflow always has waiting messages to drop).
        producer_factory: makes a producer from a librdkafka configuration.
        run_blocking: runs a blocking producer call off the trio thread.
        backoff: first and longest wait between failed connection probes, in seconds.
        probe_timeout: how long one connection probe may take, in seconds.
    """

    def __init__(
        self,
        *,
        capacity: int = DEFAULT_CAPACITY,
        window: int = DEFAULT_WINDOW,
        producer_factory: ProducerFactory = kafka_producer,
        run_blocking: BlockingRunner = in_worker_thread,
        backoff: tuple[float, float] = (BACKOFF_MIN, BACKOFF_MAX),
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        if capacity < 2:
            raise ValueError(f"telemetry buffer capacity must be at least 2, not {capacity}")
        self.capacity = capacity
        self.window = max(1, min(window, capacity // 2))
        self._factory = producer_factory
        self._blocking = run_blocking
        self._backoff_min, self._backoff_max = backoff
        self._probe_timeout = probe_timeout
        self._seq = itertools.count()
        self._waiting: collections.deque[_Entry] = collections.deque()
        self._in_flight: dict[int, _Entry] = {}
        self._reports: collections.deque[_Report] = collections.deque()
        self._enabled = False
        self._host = ""
        self._target: BusTarget | None = None
        self._session = 0
        self._session_scope: trio.CancelScope | None = None
        self._reconfigured = trio.Event()
        self._wakeup = trio.Event()
        self._progress = trio.Event()
        self._connected_since: float | None = None  # monotonic; None: not connected
        self._drops_since: float | None = None
        self._drops_in_episode = 0
        self.delivered = 0
        self.dropped = 0
        self.discarded = 0
        self.last_error = ""

    # -- configuration ----------------------------------------------------------------------

    def configure(self, params: Params) -> None:
        """Follow ``Use_telemetry`` and ``Telemetry_host``; cheap when neither changed."""
        enabled, host = params.use_telemetry, params.telemetry_host
        if (enabled, host) == (self._enabled, self._host):
            return
        was_enabled, self._enabled, self._host = self._enabled, enabled, host
        parsed = parse_telemetry_host(host) if host else None
        target = BusTarget(f"{parsed[0]}:{parsed[1]}", parsed[2]) if parsed else None
        if not enabled:
            if was_enabled:
                self._discard_all()
            target = None
        elif not host:
            # Upstream's default (Use_telemetry 1, no host) logged an error every 5 s and held
            # changes for a bus nobody named; with no host, telemetry is simply off.
            log.info(
                "telemetry off: no telemetry host; to publish heartbeat changes on Kafka, give "
                "--telemetry_host host:port:topic or PATCH /params Telemetry_host"
            )
        elif target is None:
            self.last_error = (
                f"telemetry host is not set or is invalid: {host!r} (expected host:port:topic)"
            )
            log.error(
                "%s; holding heartbeat changes (up to %d) until it is",
                self.last_error,
                self.capacity,
            )
        elif was_enabled and self._target is not None:
            log.info(
                "telemetry bus changed to %s, topic %s: reconnecting (%s held)",
                target.bootstrap,
                target.topic,
                plural(self.queued, "message"),
            )
        else:
            log.info("telemetry on: publishing to %s, topic %s", target.bootstrap, target.topic)
        if target != self._target:
            self._target = target
            if self._session_scope is not None:
                self._session_scope.cancel()
        self._reconfigured.set()
        self._reconfigured = trio.Event()

    # -- the listener -----------------------------------------------------------------------

    def __call__(self, transitions: Sequence[Transition]) -> None:
        """Buffer one message per transition. Never blocks, never waits on Kafka."""
        if not (self._enabled and self._host):
            return
        waiting = self._waiting
        for transition in transitions:
            waiting.append(_Entry(next(self._seq), transition))
        overflow = len(waiting) + len(self._in_flight) - self.capacity
        if overflow > 0:
            self._drop_oldest(overflow)
        self._wakeup.set()

    # -- state ------------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Messages held: waiting, or handed over and not yet confirmed."""
        return len(self._waiting) + len(self._in_flight)

    @property
    def connected(self) -> bool:
        """Whether the producer reached the broker and has not lost it since."""
        return self._connected_since is not None

    def health(self) -> MsgBusHealth:
        """The ``MsgBus`` member of ``/health`` and its extensions."""
        target = self._target
        if not self._enabled:
            detail = "telemetry off (Use_telemetry is 0)"
        elif not self._host:
            detail = "telemetry off (Telemetry_host is not set)"
        elif target is None:
            detail = "Telemetry_host is not set or is invalid; holding changes"
        elif self.connected:
            detail = f"publishing to {target.bootstrap}, topic {target.topic}"
        else:
            detail = f"connecting to {target.bootstrap}, topic {target.topic}; holding changes"
        return MsgBusHealth(
            status=CONNECTED if self.connected else NOT_CONNECTED,
            detail=detail,
            queued=self.queued,
            dropped=self.dropped,
            discarded=self.discarded,
            delivered=self.delivered,
            last_error=self.last_error,
        )

    # -- the drain task ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver buffered messages to the configured bus, for ever."""
        task_status.started()
        backoff = self._backoff_min
        while True:
            target = self._target
            if target is None:
                await self._reconfigured.wait()
                continue
            self._session += 1
            with trio.CancelScope() as scope:
                self._session_scope = scope
                try:
                    await self._run_session(target, self._session)
                except _SessionFailed as failure:
                    self.last_error = str(failure)
                    log.warning(
                        "telemetry producer for %s failed (%s): starting a new one in %.2g s; "
                        "%s held",
                        target.bootstrap,
                        failure,
                        backoff,
                        plural(self.queued, "message"),
                    )
                    with trio.move_on_after(backoff):
                        await self._reconfigured.wait()
                    backoff = min(backoff * 2, self._backoff_max)
                    continue
                finally:
                    self._session_scope = None
            backoff = self._backoff_min  # cancelled by a new configuration

    async def flush(self, *, within: float) -> None:
        """On shutdown: give what is held a bounded chance to be delivered."""
        if not self._enabled or self.queued == 0:
            return
        if self.connected:
            with trio.move_on_after(within):
                while self.queued:
                    await self._progress.wait()
        if self.queued:
            log.warning(
                "shutting down with %s not delivered", plural(self.queued, "telemetry message")
            )
        else:
            log.info("delivered held telemetry messages before exit")

    # -- internals --------------------------------------------------------------------------

    async def _run_session(self, target: BusTarget, session: int) -> None:
        config = producer_config(target, partial(self._on_client_error, session))
        producer = await self._blocking(partial(self._factory, config))
        try:
            await self._pump(producer, target, session)
        finally:
            self._connected_since = None
            with trio.CancelScope(shield=True):
                await self._blocking(partial(close_producer, producer))
            self._collect(session, failing=False)
            # Anything not reported back belongs to nobody now: resend it, in order.
            self._requeue(list(self._in_flight.values()))

    async def _pump(self, producer: ProducerLike, target: BusTarget, session: int) -> None:
        backoff = self._backoff_min
        while True:
            if not self.connected:
                await self._poll(producer, 0.0, session)
                problem = await self._blocking(
                    partial(probe, producer, target.topic, self._probe_timeout)
                )
                if problem is None:
                    self._connected_since = time.monotonic()
                    backoff = self._backoff_min
                    log.info(
                        "connected to telemetry bus %s, topic %s; %s to send",
                        target.bootstrap,
                        target.topic,
                        plural(self.queued, "message"),
                    )
                    continue
                self.last_error = problem
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max)
                continue
            self._feed(producer, target.topic, session)
            if self._waiting and len(self._in_flight) < self.window:
                timeout = 0.0
            elif self._in_flight:
                timeout = _POLL_BUSY
            else:
                if not self._waiting:
                    self._wakeup = trio.Event()
                    with trio.move_on_after(_POLL_IDLE):
                        await self._wakeup.wait()
                timeout = 0.0
            await self._poll(producer, timeout, session)

    def _feed(self, producer: ProducerLike, topic: str, session: int) -> None:
        waiting, in_flight, sink = self._waiting, self._in_flight, self._reports
        for _ in range(min(self.window - len(in_flight), _FEED_CHUNK, len(waiting))):
            entry = waiting.popleft()
            try:
                producer.produce(
                    topic,
                    value=encode_message(entry.transition),
                    key=entry.key,
                    on_delivery=_Ticket(entry, session, sink),
                )
            except BufferError:  # the client's own queue is full: try again after a poll
                waiting.appendleft(entry)
                return
            except confluent_kafka.KafkaException as error:
                waiting.appendleft(entry)
                raise _SessionFailed(f"produce failed: {error}") from None
            in_flight[entry.seq] = entry

    async def _poll(self, producer: ProducerLike, wait: float, session: int) -> None:
        await self._blocking(partial(producer.poll, wait))
        self._collect(session)

    def _collect(self, session: int, *, failing: bool = True) -> None:
        """Apply the reports the producer's callbacks left; runs on the trio thread.

        Raises:
            _SessionFailed: if ``failing`` and the producer reported an error it cannot get
                over by itself.
        """
        reports, in_flight = self._reports, self._in_flight
        requeue: list[_Entry] = []
        failure = ""
        delivered = 0
        while reports:
            report_session, ticket, error, when = reports.popleft()
            if report_session != session:
                continue  # from a producer that is gone; its entries were requeued
            if ticket is None:
                failure = self._client_error(error, when) or failure
                continue
            entry = ticket.entry
            if in_flight.get(entry.seq) is not entry:
                continue  # discarded meanwhile
            if error is None:
                del in_flight[entry.seq]
                delivered += 1
                continue
            del in_flight[entry.seq]
            requeue.append(entry)
            if error.code() not in PURGED:
                failure = failure or f"delivery failed: {error.str()}"
        if requeue:
            self._requeue(requeue)
        if delivered:
            self.delivered += delivered
            self._note_room()
            self._progress.set()
            self._progress = trio.Event()
        if failure and failing:
            raise _SessionFailed(failure)

    def _client_error(self, error: Any, when: float) -> str:
        text = error.str()
        if error.fatal():
            return f"fatal producer error: {text}"
        self.last_error = text
        since = self._connected_since
        if error.code() == confluent_kafka.KafkaError._ALL_BROKERS_DOWN and since is not None:
            if when < since:
                return ""  # from before the probe that found the broker
            self._connected_since = None
            log.warning(
                "telemetry bus unreachable (%s): holding changes (%d queued), reconnecting",
                text,
                self.queued,
            )
        return ""

    def _on_client_error(self, session: int, error: Any) -> None:
        # librdkafka's error_cb, served by poll on a worker thread: only append.
        self._reports.append((session, None, error, time.monotonic()))

    def _requeue(self, entries: list[_Entry]) -> None:
        entries.sort(key=lambda entry: entry.seq)
        for entry in entries:
            self._in_flight.pop(entry.seq, None)
        self._waiting.extendleft(reversed(entries))

    def _drop_oldest(self, count: int) -> None:
        waiting = self._waiting
        count = min(count, len(waiting))
        for _ in range(count):
            waiting.popleft()
        self.dropped += count
        self._drops_in_episode += count
        if self._drops_since is None:
            self._drops_since = trio.current_time()
            log.warning(
                "telemetry buffer full (%d messages): dropping the oldest undelivered changes "
                "until the bus takes them (%s)",
                self.capacity,
                self.last_error or "bus slow",
            )

    def _note_room(self) -> None:
        if self._drops_since is not None and self.queued < self.capacity:
            log.warning(
                "telemetry buffer has room again: %s dropped in %.1f s (%d dropped in all)",
                plural(self._drops_in_episode, "message"),
                trio.current_time() - self._drops_since,
                self.dropped,
            )
            self._drops_since = None
            self._drops_in_episode = 0

    def _discard_all(self) -> None:
        count = self.queued
        self._waiting.clear()
        self._in_flight.clear()
        self.discarded += count
        self._note_room()
        self._connected_since = None
        if count:
            log.warning(
                "telemetry off: discarded %s, none will be sent", plural(count, "held message")
            )
        else:
            log.info("telemetry off")


def msgbus_health(publisher: TelemetryPublisher | None) -> MsgBusHealth:
    """The telemetry health of ``publisher`` (None: no publisher runs)."""
    if publisher is not None:
        return publisher.health()
    return MsgBusHealth(status=NOT_CONNECTED, detail="telemetry publisher not running")


async def run_telemetry(
    engine: Engine,
    publisher: TelemetryPublisher,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the publisher and keep it on the engine's ``Use_telemetry`` and ``Telemetry_host``."""
    publisher.configure(engine.params)
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        task_status.started()
        while True:
            await engine.params_changed.wait()
            publisher.configure(engine.params)

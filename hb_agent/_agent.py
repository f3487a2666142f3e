"""The heartbeat loop, the /params reader, and a clean stop.

Theory of operation: :meth:`Agent.run` opens a nursery with three kinds of task:

* the heartbeat loop: send at once, then every ``interval`` (jittered, measured from the start
  of each attempt so a slow answer does not add drift); after a retryable failure, the next
  attempt comes after a :class:`~hb_agent._backoff.Backoff` delay instead, which is never
  shorter than the interval (so a failing fleet never sends faster than a healthy one) and by
  default at most the interval plus its jitter. It catches everything: network or server
  trouble is logged (rate-limited by :class:`~hb_agent._outage.OutageLog`), never fatal.
* the ``/params`` reader: at start, then every ``params_refresh``; it caps the backoff at a
  third of Warntime and warns once when the interval is too long for that Warntime.
* the probes (:mod:`hb_agent._probes`), which only ever write to a board the loop reads.

:meth:`Agent.stop` (called on SIGTERM/SIGINT) lets a heartbeat already in flight land, cancels
everything, and with ``announce_shutdown`` sends one last heartbeat with Status ``Shutdown``,
all within ``stop_timeout`` so the process exits within a second.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import trio

from ._backoff import Backoff
from ._errors import SendError, TrackerUnreachable
from ._outage import OutageLog
from ._probes import (
    KERNEL_OOPS_STATUS,
    OK_STATUS,
    Probe,
    ProbeBoard,
    kernel_oopsed,
    run_probes,
)
from ._sender import Sender
from ._wire import SHUTDOWN_STATUS, TrackerParams, format_timestamp

__all__ = ["Agent", "AgentOptions"]

_log = logging.getLogger("hb_agent")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOptions:
    """How the agent paces itself. Times are seconds.

    Attributes:
        interval: time between heartbeats (upstream senders use 3 s).
        jitter: each interval is drawn from ``interval * [1 - jitter, 1 + jitter]``.
        max_backoff: the longest wait after a failure; None means the interval plus its
            jitter. Never below the interval (see ``hb_agent._backoff``).
        announce_shutdown: send a ``Shutdown`` heartbeat when stopped.
        stop_timeout: the most :meth:`Agent.stop` may take.
        params_refresh: how often to re-read the tracker's ``/params``.
        params_retry: how soon to try again when ``/params`` could not be read.
        root: file system root for ``/proc`` reads (tests use a fake tree).
        probes: health probes, in priority order.
    """

    interval: float = 3.0
    jitter: float = 0.1
    max_backoff: float | None = None
    announce_shutdown: bool = False
    stop_timeout: float = 0.8
    params_refresh: float = 600.0
    params_retry: float = 60.0
    root: Path = field(default_factory=lambda: Path("/"))
    probes: tuple[Probe, ...] = ()

    def __post_init__(self) -> None:
        positive = {
            "interval": self.interval,
            "stop_timeout": self.stop_timeout,
            "params_refresh": self.params_refresh,
            "params_retry": self.params_retry,
        }
        if self.max_backoff is not None:
            positive["max_backoff"] = self.max_backoff
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if not (0 <= self.jitter < 1):
            raise ValueError(f"jitter must be a fraction in [0, 1), not {self.jitter!r}")
        names = [probe.name for probe in self.probes]
        if len(set(names)) != len(names):
            raise ValueError(f"probe names must be unique: {names}")


class Agent:
    """A node's heartbeat daemon.

    Args:
        sender: how heartbeats reach the tracker.
        options: pacing, probes and shutdown behavior.
        rng: random source for jitter (tests pass a seeded one).
        wall_clock: the clock for ``TimeStamp`` (tests derive it from trio's clock).
    """

    def __init__(
        self,
        *,
        sender: Sender,
        options: AgentOptions | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sender = sender
        self._options = options or AgentOptions()
        self._rng = rng or random.Random()
        self._wall_clock = wall_clock
        self._board = ProbeBoard(self._options.probes)
        interval = self._options.interval
        self._backoff_limit = self._options.max_backoff or interval * (1 + self._options.jitter)
        self._backoff = Backoff(floor=interval, cap=self._backoff_limit, rng=self._rng)
        self._outage = OutageLog(logger=_log)
        self._scope: trio.CancelScope | None = None
        self._stopping = False
        self._in_flight: trio.Event | None = None
        self._params_verdict: tuple[float, bool] | None = None
        #: trio time of the loop's latest attempt; the systemd watchdog checks it.
        self.last_attempt: float | None = None

    @property
    def options(self) -> AgentOptions:
        """The agent's options."""
        return self._options

    def current_status(self) -> str:
        """The Status the next heartbeat will carry: oops, then probes, then ``OK``."""
        if kernel_oopsed(self._options.root):
            return KERNEL_OOPS_STATUS
        return self._board.failure() or OK_STATUS

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Heartbeat until cancelled or stopped.

        Args:
            task_status: reports started once the loop and helpers are running.
        """
        with trio.CancelScope() as scope:
            self._scope = scope
            if self._stopping:
                scope.cancel()
            async with trio.open_nursery() as nursery:
                if self._options.probes:
                    await nursery.start(
                        partial(run_probes, root=self._options.root),
                        self._options.probes,
                        self._board,
                    )
                nursery.start_soon(self._params_loop)
                nursery.start_soon(self._heartbeat_loop)
                task_status.started()

    async def stop(self) -> None:
        """Stop heartbeating; with ``announce_shutdown``, send ``Shutdown`` as the last one.

        A heartbeat already in flight may finish first (so ``Shutdown`` really is the last
        thing the tracker hears); the whole stop takes at most ``stop_timeout``.
        """
        deadline = trio.current_time() + self._options.stop_timeout
        self._stopping = True
        if self._in_flight is not None:
            with trio.move_on_at(deadline - self._options.stop_timeout / 2):
                await self._in_flight.wait()
        if self._scope is not None:
            self._scope.cancel()
        if not self._options.announce_shutdown:
            return
        with trio.move_on_at(deadline) as scope:
            try:
                await self._send(SHUTDOWN_STATUS)
            except SendError as exc:
                _log.warning("could not announce the shutdown: %s", exc)
            except Exception:
                # A bug; the exit must still be clean and quick.
                _log.exception("could not announce the shutdown")
            else:
                _log.info("announced the shutdown to the tracker")
        if scope.cancelled_caught:
            _log.warning("could not announce the shutdown within %gs", self._options.stop_timeout)

    async def send_once(self, status: str | None = None) -> None:
        """Send a single heartbeat now.

        Args:
            status: the Status; None means :meth:`current_status` (probes are not run).

        Raises:
            SendError: when the tracker did not take it.
        """
        await self._send(status if status is not None else self.current_status())

    async def _send(self, status: str) -> None:
        await self._sender.send(status=status, timestamp=format_timestamp(self._wall_clock()))

    def _next_interval(self) -> float:
        jitter = self._options.jitter
        return self._options.interval * self._rng.uniform(1 - jitter, 1 + jitter)

    async def _heartbeat_loop(self) -> None:
        next_at = trio.current_time()
        while True:
            await trio.sleep_until(next_at)
            if self._stopping:
                return
            started = self.last_attempt = trio.current_time()
            self._in_flight = trio.Event()
            try:
                await self._send(self.current_status())
            except SendError as exc:
                error: SendError | None = exc
            except Exception as exc:
                # A bug, not trouble on the network. The agent must not die of it, and the
                # traceback is worth one journal entry per outage.
                if not self._outage.failing:
                    _log.exception("unexpected error while sending a heartbeat")
                error = TrackerUnreachable(f"unexpected {exc!r}", cause=type(exc).__name__)
            else:
                error = None
            finally:
                self._in_flight.set()
                self._in_flight = None
            now = trio.current_time()
            if error is None:
                self._outage.success(now)
                self._backoff.reset()
                next_at = started + self._next_interval()
            else:
                self._outage.failure(now, error)
                if error.retryable:
                    next_at = started + self._backoff.next_delay()
                else:
                    self._backoff.reset()
                    next_at = started + self._next_interval()

    async def _params_loop(self) -> None:
        opts = self._options
        failed_before = False
        while True:
            try:
                params = await self._sender.fetch_params()
            except Exception as exc:
                # SendError is expected; anything else is a bug, and /params is only advice.
                if not failed_before:
                    _log.info(
                        "cannot read the tracker's /params yet (%s); will retry",
                        exc,
                        exc_info=not isinstance(exc, SendError),
                    )
                failed_before = True
                await trio.sleep(opts.params_retry)
                continue
            self.apply_params(params)
            await trio.sleep(opts.params_refresh)

    def apply_params(self, params: TrackerParams) -> None:
        """Adapt to the tracker's parameters: cap the backoff, check the interval.

        The backoff never exceeds a third of Warntime (nor goes below the interval), so at
        least two retries fit before the tracker warns when the interval allows it. The
        interval is "comfortably shorter" than Warntime when it is at most a third of it
        (upstream's defaults, 3 s against 10 s, pass); otherwise one late or lost heartbeat
        can already raise a warning. The warning is logged once per Warntime value.

        Args:
            params: what ``GET /params`` said.
        """
        warntime = params.warntime
        if warntime is None:
            return
        self._backoff.set_cap(min(self._backoff_limit, warntime / 3))
        too_long = self._options.interval > warntime / 3
        verdict = (warntime, too_long)
        if verdict == self._params_verdict:
            return
        self._params_verdict = verdict
        if too_long:
            _log.warning(
                "the heartbeat interval (%gs) is not comfortably shorter than the tracker's"
                " Warntime (%gs): a single late heartbeat may raise a warning; use an interval"
                " of at most %gs",
                self._options.interval,
                warntime,
                warntime / 3,
            )
        else:
            _log.info(
                "tracker Warntime is %gs; heartbeat interval %gs, backoff at most %gs",
                warntime,
                self._options.interval,
                self._backoff.cap,
            )

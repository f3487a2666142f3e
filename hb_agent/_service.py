"""Running the agent as a daemon: signals, systemd readiness and watchdog."""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Callable

import trio

from ._agent import Agent
from ._memory import settle_memory
from ._systemd import SystemdNotifier

__all__ = ["serve"]

_log = logging.getLogger("hb_agent")

#: SIGTERM is systemd's stop; SIGINT is Ctrl-C in a terminal. Both mean "stop cleanly".
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def _watchdog(agent: Agent, notifier: SystemdNotifier, period: float) -> None:
    """Ping the systemd watchdog while the heartbeat loop keeps making attempts.

    Only a wedged loop stops the pings (systemd then restarts the agent); an unreachable
    tracker does not, since the loop keeps trying.
    """
    interval = agent.options.interval
    # The loop attempts at least every interval plus the request timeout; allow generously.
    stale_after = max(period, 4 * interval + 10)
    while True:
        await trio.sleep(period / 2)
        last = agent.last_attempt
        if last is not None and trio.current_time() - last < stale_after:
            notifier.notify("WATCHDOG=1")


async def _settle(agent: Agent, settle: Callable[[], None]) -> None:
    """Once the first heartbeats have gone out, tidy up after start-up (see _memory)."""
    await trio.sleep(2 * agent.options.interval)
    settle()


async def _first(signals: AsyncIterator[int]) -> int:
    async for signum in signals:
        return signum
    raise RuntimeError("the signal receiver ended")  # trio's never does


async def serve(
    agent: Agent,
    *,
    notifier: SystemdNotifier,
    settle: Callable[[], None] = settle_memory,
) -> int:
    """Run ``agent`` until SIGTERM or SIGINT, then stop it cleanly.

    Args:
        agent: the agent to run.
        notifier: the systemd link (does nothing outside systemd).
        settle: run once after the first heartbeats, to trim start-up memory; it acts on the
            whole process, so tests running in a shared interpreter replace it.

    Returns:
        The signal number that stopped the agent.
    """
    with trio.open_signal_receiver(*_STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(agent.run)
            notifier.notify("READY=1")
            nursery.start_soon(_settle, agent, settle)
            period = notifier.watchdog_period
            if period is not None:
                nursery.start_soon(_watchdog, agent, notifier, period)
            signum = await _first(signals)
            _log.info("received %s: stopping", signal.Signals(signum).name)
            notifier.notify("STOPPING=1")
            await agent.stop()
            nursery.cancel_scope.cancel()
    return signum

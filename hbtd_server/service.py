"""Wires the tracker together in one trio nursery and runs it until told to stop.

Tasks: the HTTP server (the lean trio + httptools server), the detector (sleeps until the next
deadline), the HSM readiness poller and notifier, the telemetry publisher, the store's
flusher, watch and election, and the wave logger. Every task but the server runs under
``supervise``: an error in one is logged on one line, counted in ``/health`` and followed by a
restart after a back-off; it never ends the process. On SIGTERM or SIGINT the server stops
accepting, pending HSM changes and held telemetry messages get a short, bounded chance to go
out, and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast

import httpx
import trio

from ._supervise import supervise
from .core import Params
from .engine import DEFAULT_MAX_COMPONENTS, Engine
from .http import HeartbeatRoutes, HttpSettings, Operability, create_quart_app
from .http import serve as lean_serve
from .notify import (
    TelemetryPublisher,
    flush_hsm,
    make_hsm_client,
    run_hsm_notifier,
    run_hsm_ready_poller,
    run_reconciler,
    run_telemetry,
)
from .ops import Metrics, apply_debug_level
from .store import DEFAULT_LEASE_TTL, SharedState, Store

__all__ = ["SHUTDOWN_FLUSH_LIMIT", "run_detector", "run_tracker_tasks", "serve"]

log = logging.getLogger("hbtd")

#: The longest a shutdown waits for HSM to take what is pending.
SHUTDOWN_FLUSH_LIMIT = 5.0
_WAVE_LOG_PERIOD = 1.0
_TELEMETRY_FLUSH_LIMIT = 2.0


async def run_detector(
    engine: Engine, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Fire deadlines as they come due; sleep in between."""
    task_status.started()
    while True:
        await engine.wait_detector_wakeup(engine.detect())


async def run_tracker_tasks(
    engine: Engine,
    hsm_client: httpx.AsyncClient,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run everything but the HTTP server: detector, HSM poller, notifier and reconciler, and
    the wave logger.

    The simulator drives a tracker in process with this (on a MockClock, heartbeats handed to
    ``engine.heartbeat``); ``serve`` adds the HTTP server around it. Runs until cancelled.
    """
    tasks = engine.tasks
    async with trio.open_nursery() as nursery:
        await nursery.start(supervise, "detector", partial(run_detector, engine), tasks)
        poller = partial(run_hsm_ready_poller, engine, hsm_client)
        await nursery.start(supervise, "HSM readiness poller", poller, tasks)
        notifier = partial(run_hsm_notifier, engine, hsm_client)
        await nursery.start(supervise, "HSM notifier", notifier, tasks)
        reconciler = partial(run_reconciler, engine, hsm_client)
        await nursery.start(supervise, "HSM reconciler", reconciler, tasks)
        await nursery.start(supervise, "wave logger", partial(_run_wave_logger, engine), tasks)
        task_status.started()


async def _run_wave_logger(
    engine: Engine, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    task_status.started()
    while True:
        await trio.sleep(_WAVE_LOG_PERIOD)
        engine.flush_wave_log()


async def _wait_for_signal() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("received %s: shutting down", signal.Signals(signum).name)
            return


async def serve(
    params: Params,
    *,
    host: str = "0.0.0.0",
    engine: Engine | None = None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    ops: Operability | None = None,
    telemetry: TelemetryPublisher | None = None,
    store: Store | None = None,
    replica: str = "hbtd",
    lease_ttl: float = DEFAULT_LEASE_TTL,
    reuse_port: bool = False,
    max_components: int = DEFAULT_MAX_COMPONENTS,
    http: HttpSettings | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the tracker until ``shutdown_trigger`` returns (default: SIGTERM or SIGINT).

    Args:
        params: the starting parameters (``params.port`` is where it listens; 0 picks one).
        host: the address to listen on.
        engine: an engine to serve, for tests that look inside; a new one by default.
        shutdown_trigger: an async function whose return starts a clean shutdown.
        ops: metrics, TLS and admin-token settings (default: metrics on, plain HTTP, open).
        telemetry: the telemetry publisher (default: one with upstream's 50,000-message buffer).
        store: a shared store (etcd) to persist to and follow; None keeps state in memory.
        replica: this process's name in the store.
        lease_ttl: seconds the leader's lease lasts with a store.
        reuse_port: listen with SO_REUSEPORT, so several workers share the port.
        max_components: the most components tracked at once (for a new engine).
        http: the HTTP server's limits (default: :class:`Limits`' defaults).
        task_status: started with the list of URLs the server listens on.

    Raises:
        StoreUnavailable: the store did not answer at start.
    """
    engine = engine or Engine(params, max_components=max_components)
    # The process's logging follows Debug as PATCH /params changes it (the engine only says so).
    engine.params_listeners.append(lambda changed: apply_debug_level(changed.debug))
    ops = ops or Operability()
    telemetry = telemetry or TelemetryPublisher()
    engine.listeners.append(telemetry)  # only appends to its buffer
    metrics = Metrics(engine, telemetry=telemetry) if ops.metrics else None
    quart_app = create_quart_app(engine, metrics=metrics, admin=ops.admin, telemetry=telemetry)
    http = http or HttpSettings()
    stop_when = shutdown_trigger or _wait_for_signal

    async def trigger() -> None:
        await stop_when()
        # From now on the server drains and takes no new heartbeat: stop detecting, so that
        # nodes are not reported for the silence the shutdown itself causes.
        engine.stop_detecting()

    log.info("hbtd starting with %s", _describe(params))
    log.info("serving %s", ops.describe())
    shared = None
    if store is not None:  # loaded before anything runs; a dead store fails the start
        shared = await SharedState.open(engine, store, name=replica, lease_ttl=lease_ttl)
    async with make_hsm_client() as client, trio.open_nursery() as nursery:
        if shared is not None:
            await nursery.start(supervise, "store", shared.run, engine.tasks)
        server_done = trio.Event()

        async def run_server(*, task_status: trio.TaskStatus[list[str]]) -> None:
            try:
                await lean_serve(
                    cast(Any, quart_app),
                    inline=HeartbeatRoutes(engine),
                    host=host,
                    port=params.port,
                    limits=http.limits,
                    certfile=ops.certfile,
                    keyfile=ops.keyfile,
                    reuse_port=reuse_port,
                    shutdown_trigger=trigger,
                    task_status=task_status,
                )
            finally:
                server_done.set()

        # The port first: a port in use is then the only thing a failed start says, before
        # any word about HSM or Kafka. Heartbeats taken meanwhile wait for the detector.
        binds: list[str] = await nursery.start(run_server)
        await nursery.start(run_tracker_tasks, engine, client)
        publisher = partial(run_telemetry, engine, telemetry)
        await nursery.start(supervise, "telemetry", publisher, engine.tasks)
        log.info("listening on %s", ", ".join(binds))
        task_status.started(binds)
        # The server returns once the trigger fired and its connections drained.
        await server_done.wait()
        engine.flush_wave_log()
        await flush_hsm(engine, client, within=min(SHUTDOWN_FLUSH_LIMIT, params.sm_timeout))
        await telemetry.flush(within=_TELEMETRY_FLUSH_LIMIT)
        if shared is not None:
            await shared.shutdown(within=SHUTDOWN_FLUSH_LIMIT)
        nursery.cancel_scope.cancel()
    log.info("Done. Exiting.")


def _describe(params: Params) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.to_public_json().items())

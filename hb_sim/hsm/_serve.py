"""Serving the mock HSM over real sockets with hypercorn's trio worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from ._app import create_mock_hsm_app
from ._model import MockHsm

__all__ = ["run_power_polling", "serve_mock_hsm"]


async def run_power_polling(
    model: MockHsm, *, clock: Callable[[], float] = trio.current_time
) -> None:
    """Run the model's power polls when they fall due, forever (cancel to stop).

    It wakes at least once a second to notice polls scheduled meanwhile; they are always 30 s
    ahead, so none runs late. Sleeps are ``trio.sleep``, so a ``MockClock`` governs them.

    Args:
        model: a model built with ``power_polling=True`` (otherwise this only idles).
        clock: the model's time base; give the app's clock so poll times and request times
            agree.
    """
    while True:
        now = clock()
        model.poll(now)
        due = model.next_poll()
        await trio.sleep(min(due - now, 1.0) if due is not None else 1.0)


async def serve_mock_hsm(
    model: MockHsm,
    *,
    host: str = "127.0.0.1",
    port: int = 27779,
    clock: Callable[[], float] = time.time,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the mock HSM until ``shutdown_trigger`` returns (or forever).

    Start it with ``await nursery.start(...)``: once listening, it reports the bound base URLs
    (``http://127.0.0.1:27779``), which tells the real port when ``port`` is 0. When the model
    has ``power_polling`` on, its polls run alongside.

    Args:
        model: the model to serve.
        host: address to bind.
        port: TCP port; 0 picks a free one.
        clock: stamps requests and state changes. Wall-clock seconds by default, so another
            process (the live runner) can compare them with its own ``time.time()``; trio's
            clock has a per-process offset.
        shutdown_trigger: returns when the server should stop gracefully.
        task_status: receives the list of bound URLs.
    """
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    # Hypercorn's own "Running on" line is replaced by the CLI's, which names the mock.
    config.errorlog = logging.getLogger("hb_sim.mock_hsm.hypercorn")
    app = create_mock_hsm_app(model, clock=clock)
    async with trio.open_nursery() as nursery:
        if model.power_polling:
            nursery.start_soon(partial(run_power_polling, model, clock=clock))
        await serve(app, config, shutdown_trigger=shutdown_trigger, task_status=task_status)
        nursery.cancel_scope.cancel()

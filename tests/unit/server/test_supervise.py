"""Background tasks survive their own errors (#21): one log line, a back-off, a restart, and a
count in /health; nothing a task raises ends the tracker."""

from __future__ import annotations

import dataclasses
import itertools
import logging

import httpx
import pytest
import trio
import trio.testing

from hbtd_server import Engine, run_tracker_tasks
from hbtd_server._supervise import FIRST_BACKOFF, MAX_BACKOFF, describe_error, supervise
from hbtd_server.core import DEFAULT_PARAMS
from hbtd_server.health import TaskHealth


async def test_a_failing_task_is_restarted_with_a_doubling_back_off(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    starts: list[float] = []
    tasks = TaskHealth()

    async def flaky(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        starts.append(trio.current_time())
        if len(starts) < 5:
            raise ValueError(f"bad input\nnumber {len(starts)}")
        await trio.sleep_forever()

    caplog.set_level(logging.INFO, logger="hbtd")
    async with trio.open_nursery() as nursery:
        await nursery.start(supervise, "flaky", flaky, tasks)
        await trio.sleep(100)
        nursery.cancel_scope.cancel()
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert gaps == [FIRST_BACKOFF, 2 * FIRST_BACKOFF, 4 * FIRST_BACKOFF, 8 * FIRST_BACKOFF]
    assert tasks.describe() == {"flaky": "4 failure(s); last: ValueError: bad input number 4"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 4
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in errors)
    assert (
        errors[0].getMessage()
        == "flaky failed (ValueError: bad input number 1); restarting it in 1 s"
    )


async def test_the_back_off_stops_growing_at_its_maximum(
    autojump_clock: trio.testing.MockClock,
) -> None:
    starts: list[float] = []

    async def broken(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        starts.append(trio.current_time())
        raise RuntimeError("never starts")

    async with trio.open_nursery() as nursery:
        # Reported started after its first failure: a task that cannot start holds up nothing.
        await nursery.start(supervise, "broken", broken, TaskHealth())
        await trio.sleep(1000)
        nursery.cancel_scope.cancel()
    assert max(b - a for a, b in itertools.pairwise(starts)) == MAX_BACKOFF


def test_describe_error_takes_the_first_error_of_a_group_on_one_line() -> None:
    group = ExceptionGroup("x", [httpx.InvalidURL("Invalid port: 'abc'"), KeyError("k")])
    assert describe_error(group) == "InvalidURL: Invalid port: 'abc'"
    assert describe_error(RuntimeError("see http://u:pw@h/")) == "RuntimeError: see http://u:***@h/"


async def test_a_bad_sm_url_that_got_past_the_checks_does_not_end_the_tracker_tasks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # As if stored before the checks existed: httpx cannot parse it, and every poll raises
    # httpx.InvalidURL (not an httpx.HTTPError). Before #21 this ended run_tracker_tasks.
    params = dataclasses.replace(DEFAULT_PARAMS, sm_url="http://h:abc/x", interval=1)
    engine = Engine(params, clock=trio.current_time)
    async with httpx.AsyncClient() as client, trio.open_nursery() as nursery:
        await nursery.start(run_tracker_tasks, engine, client)
        await trio.sleep(30)
        assert "HSM readiness poller" in engine.tasks.describe()
        # ... and it follows a corrected Sm_url once it restarts.
        engine.set_params(dataclasses.replace(params, nosm=True))
        await trio.sleep(MAX_BACKOFF + 1)
        nursery.cancel_scope.cancel()
    assert engine.books.health.detail(engine.params) == "HSM traffic disabled (Nosm)"

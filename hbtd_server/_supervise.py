"""Background tasks that survive their own errors: one log line, a back-off, a restart.

Only two things end ``hbtd``: a failure to listen at start, and the stop it is asked for
(SIGTERM, SIGINT). A background task (the detector, the HSM poller and notifier, telemetry,
the store) that raises would otherwise end the nursery, and the process with it: an
unexpected value in a parameter, a library raising what its caller did not foresee. Under
:func:`supervise` such a failure costs one ERROR line (the traceback only at debug level), is
counted in ``/health`` (``TaskFailures``), and the task starts again after a back-off that
doubles up to :data:`MAX_BACKOFF` while it keeps failing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from .core import redact_text
from .health import TaskHealth

__all__ = ["FIRST_BACKOFF", "MAX_BACKOFF", "supervise"]

log = logging.getLogger("hbtd")

#: Seconds before the first restart of a failed task.
FIRST_BACKOFF = 1.0
#: The longest wait between restarts of a task that keeps failing.
MAX_BACKOFF = 60.0
#: A task that ran this long before failing starts again after the first back-off.
_HEALTHY_RUN = 60.0
_MAX_ERROR_TEXT = 300

Task = Callable[..., Awaitable[None]]


async def supervise(
    name: str,
    run: Task,
    tasks: TaskHealth,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``run`` (started as with ``nursery.start``), restarting it whenever it raises.

    Reports started when ``run`` first started, or when it first failed (so that a task that
    cannot start does not hold up the others: its failure shows in ``/health``). Returns when
    ``run`` returns; cancellation passes through.

    Args:
        name: the task's name in the log and in ``/health``.
        run: an async function taking ``task_status``.
        tasks: where failures are counted.
        task_status: see above.
    """
    backoff = FIRST_BACKOFF
    reported = False
    while True:
        began = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(run)
                if not reported:
                    reported = True
                    task_status.started()
            return
        except Exception as error:  # the point: nothing a task raises ends hbtd
            if trio.current_time() - began >= _HEALTHY_RUN:
                backoff = FIRST_BACKOFF
            text = describe_error(error)
            tasks.failed(name, text)
            log.error("%s failed (%s); restarting it in %.0f s", name, text, backoff)
            log.debug("%s failed", name, exc_info=error)
        if not reported:
            reported = True
            task_status.started()
        await trio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)


def describe_error(error: BaseException) -> str:
    """``ExceptionClass: message`` of the first error inside ``error``, on one line."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    message = " ".join(str(error).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return redact_text(text[:_MAX_ERROR_TEXT])

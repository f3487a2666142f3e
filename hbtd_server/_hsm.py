"""HSM traffic: the readiness poller and the notifier that makes HSM match the ledger.

The notifier is level-triggered (see ``core.HsmLedger``): it waits until the ledger has work,
lets a short batching window gather the rest of a wave, then sends the whole difference as a
few bulk PATCHes. While HSM is down, not ready or failing, the wanted states simply wait in the
ledger, newest-wins, and the notifier tries again every Interval.
"""

from __future__ import annotations

import logging
import socket

import httpx
import trio

from ._engine import Engine
from .core import HsmPatch

__all__ = [
    "AWAY_REPEAT",
    "BATCH_WINDOW",
    "READY_POLL_PERIOD",
    "flush_hsm",
    "make_hsm_client",
    "run_hsm_notifier",
    "run_hsm_ready_poller",
]

log = logging.getLogger("hbtd.hsm")

#: How long the notifier lets a wave gather after its first change before sending.
BATCH_WINDOW = 0.2
#: Upstream polls ``/service/ready`` every 5 s.
READY_POLL_PERIOD = 5.0
#: While HSM stays unreachable, the warning is repeated this often, with a count.
AWAY_REPEAT = 300.0
#: At most this many PATCHes in flight at once (upstream: one per category, so 4).
MAX_CONCURRENT_PATCHES = 4
_SUCCESS = frozenset({200, 202, 204})


def make_hsm_client() -> httpx.AsyncClient:
    """An HTTP client for HSM: upstream's headers; timeouts are set per call."""
    return httpx.AsyncClient(
        headers={"User-Agent": socket.gethostname() or "hbtd"},
        # Upstream does not verify HSM's certificate either; in CSM it is reached over the
        # cluster network through plain HTTP or the gateway's internal certificate.
        verify=False,
        timeout=None,
        limits=httpx.Limits(max_connections=MAX_CONCURRENT_PATCHES * 2),
    )


async def run_hsm_ready_poller(
    engine: Engine,
    client: httpx.AsyncClient,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Poll ``{Sm_url}/service/ready`` for ever; only a 200 means ready."""
    task_status.started()
    away = _AwayReport()
    while True:
        params = engine.params
        if params.nosm:
            engine.hsm.ready = None
        else:
            ready, reason = await _ask_ready(client, params.sm_url, params.sm_timeout)
            _record_readiness(engine, ready, reason, away)
        # While HSM is away, look again every Interval, so held changes go soon after it is back.
        period = READY_POLL_PERIOD if engine.hsm.ready else min(READY_POLL_PERIOD, params.interval)
        with trio.move_on_after(period):
            await engine.params_changed.wait()


async def _ask_ready(client: httpx.AsyncClient, sm_url: str, limit: float) -> tuple[bool, str]:
    url = f"{sm_url.rstrip('/')}/service/ready"
    try:
        with trio.fail_after(limit):
            response = await client.get(url)
    except trio.TooSlowError:
        return False, f"no answer from {url} within {limit:g} s"
    except httpx.HTTPError as error:
        return False, f"{url}: {error.__class__.__name__}: {error}"
    if response.status_code != 200:
        return False, f"{url} answered {response.status_code}"
    return True, ""


class _AwayReport:
    """One WARNING when HSM goes away, then one every ``AWAY_REPEAT`` seconds with a count.

    HSM is often not up yet when the tracker starts (or is down for maintenance); a line per
    poll would drown the log, and one line only would leave an operator unsure it persists.
    """

    def __init__(self) -> None:
        self.since: float | None = None
        self.failed = 0
        self.next_report = 0.0

    def failed_check(self, engine: Engine, reason: str) -> None:
        now = trio.current_time()
        self.failed += 1
        if self.since is None:
            self.since = now
        elif now < self.next_report:
            return
        self.next_report = now + AWAY_REPEAT
        held = engine.ledger.pending_count
        # An answer other than 200 means HSM is up but says it is not ready yet.
        what = "not ready" if " answered " in reason else "not reachable"
        if self.failed == 1:
            log.warning(
                "HSM %s at %s (%s); holding %d change(s), checking every %g s",
                what,
                engine.params.sm_url,
                reason,
                held,
                min(READY_POLL_PERIOD, engine.params.interval),
            )
        else:
            log.warning(
                "HSM %s at %s for %d min (%d failed checks; last: %s); holding %d change(s)",
                what,
                engine.params.sm_url,
                round((now - self.since) / 60),
                self.failed,
                reason,
                held,
            )

    def back(self, engine: Engine) -> None:
        if self.failed:
            log.info(
                "HSM is ready at %s after %d failed check(s)", engine.params.sm_url, self.failed
            )
        else:
            log.info("HSM is ready at %s", engine.params.sm_url)
        self.since, self.failed, self.next_report = None, 0, 0.0


def _record_readiness(engine: Engine, ready: bool, reason: str, away: _AwayReport) -> None:
    hsm = engine.hsm
    if ready and hsm.ready is not True:
        away.back(engine)
        engine.hsm_work.set()  # anything held back can go now
    elif not ready:
        away.failed_check(engine, reason)
    hsm.ready = ready
    hsm.reason = reason


async def run_hsm_notifier(
    engine: Engine,
    client: httpx.AsyncClient,
    *,
    batch_window: float = BATCH_WINDOW,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Send the ledger's difference to HSM, for ever."""
    task_status.started()
    while True:
        while not (engine.ledger.has_work() and _may_send(engine)):
            event = engine.hsm_work
            await _wait_any(event, engine.params_changed)
            if event is engine.hsm_work:
                engine.hsm_work = trio.Event()
        await trio.sleep(batch_window)
        if not await send_round(engine, client):
            # HSM failed some PATCHes: they wait in the ledger; Interval paces the retry.
            with trio.move_on_after(engine.params.interval):
                await engine.params_changed.wait()


def _may_send(engine: Engine) -> bool:
    return not engine.params.nosm and engine.hsm.ready is True


async def send_round(engine: Engine, client: httpx.AsyncClient) -> bool:
    """Take every pending change and send it. Returns whether all of it was delivered."""
    patches = engine.ledger.take()
    if not patches:
        return True
    outcome = {"failed": 0}
    limiter = trio.CapacityLimiter(MAX_CONCURRENT_PATCHES)

    async def deliver(patch: HsmPatch) -> None:
        async with limiter:
            if not await _send_patch(engine, client, patch):
                outcome["failed"] += 1

    async with trio.open_nursery() as nursery:
        for patch in patches:
            nursery.start_soon(deliver, patch)
    return outcome["failed"] == 0


async def _send_patch(engine: Engine, client: httpx.AsyncClient, patch: HsmPatch) -> bool:
    """Send one PATCH with retries; settle it in the ledger. Returns whether it was delivered.

    A 4xx (other than 408 and 429) is HSM refusing the content: the batch is split in halves
    until the refused IDs are found and dropped, so one bad ID never holds back the others.
    """
    params = engine.params
    url = f"{params.sm_url.rstrip('/')}/State/Components/BulkStateData"
    body = patch.body()
    status: int | None = None
    with trio.move_on_after(params.sm_timeout):
        for attempt in range(params.sm_retries + 1):
            if attempt:
                await trio.sleep(min(0.25 * 2**attempt, 2.0))
            started = trio.current_time()
            outcome = "timeout"  # kept if Sm_timeout cancels the request
            try:
                response = await client.patch(url, json=body)
                outcome = _patch_outcome(response.status_code)
            except httpx.HTTPError as error:
                outcome = "unreachable"
                engine.hsm.last_error = f"{error.__class__.__name__}: {error}"
                continue
            finally:
                engine.hsm.observe_patch(outcome, trio.current_time() - started)
            status = response.status_code
            if status in _SUCCESS:
                engine.ledger.settle(patch, delivered=True)
                engine.hsm.patches_sent += 1
                return True
            engine.hsm.last_error = f"HTTP {status}: {response.text[:200]}"
            if 400 <= status < 500 and status not in (408, 429):
                return await _isolate_refused(engine, client, patch, status)
    if status is None and not engine.hsm.last_error:
        engine.hsm.last_error = f"no answer within {params.sm_timeout} s"
    engine.hsm.patches_failed += 1
    log.warning(
        "HSM PATCH of %d component(s) to %s failed (%s); will resend",
        len(patch.xnames),
        patch.kind.hsm.message,
        engine.hsm.last_error,
    )
    engine.ledger.settle(patch, delivered=False)
    return False


def _patch_outcome(status: int) -> str:
    # The ``outcome`` label of the PATCH metrics (#8).
    if status in _SUCCESS:
        return "delivered"
    if 400 <= status < 500 and status not in (408, 429):
        return "refused"
    return "failed"


async def _isolate_refused(
    engine: Engine, client: httpx.AsyncClient, patch: HsmPatch, status: int
) -> bool:
    if len(patch.xnames) == 1:
        log.error(
            "HSM refused %s for %s (HTTP %d: %s); not resending it",
            patch.kind.hsm.message,
            patch.xnames[0],
            status,
            engine.hsm.last_error,
        )
        engine.ledger.reject(patch)
        return True
    first, second = patch.split()
    delivered_first = await _send_patch(engine, client, first)
    delivered_second = await _send_patch(engine, client, second)
    return delivered_first and delivered_second


async def flush_hsm(engine: Engine, client: httpx.AsyncClient, *, within: float) -> None:
    """On shutdown: hand what is pending to HSM, giving up after ``within`` seconds."""
    if not engine.ledger.has_work() or engine.params.nosm:
        return
    with trio.move_on_after(within) as scope:
        await send_round(engine, client)
    left = engine.ledger.pending_count
    if scope.cancelled_caught or left:
        log.warning("shutting down with %d HSM change(s) not delivered", left)
    else:
        log.info("delivered pending HSM changes before exit")


async def _wait_any(*events: trio.Event) -> None:
    async with trio.open_nursery() as nursery:
        for event in events:

            async def wait_then_cancel(event: trio.Event = event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(wait_then_cancel)

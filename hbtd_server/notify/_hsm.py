"""HSM traffic: the readiness poller and the notifier that makes HSM match the ledger.

The notifier is level-triggered (see ``core.HsmLedger``): it waits until the ledger has work,
lets a short batching window gather the rest of a wave, then sends the whole difference as a
few bulk PATCHes. While HSM is down, not ready or failing, the wanted states simply wait in the
ledger, newest-wins, and the notifier tries again every Interval.
"""

from __future__ import annotations

import enum
import logging
import math
import socket
from dataclasses import dataclass

import httpx
import trio

from hb_agent import AnswerRefused, fetch_bounded

from ..core import HsmPatch, describe_error, plural, redact_url
from ..engine import Engine

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
#: The most bytes HSM's answer to a readiness check or a PATCH may have: it answers with an
#: empty body or a problem document of a few hundred bytes. A longer answer is not HSM's (a
#: wrong Sm_url, a broken gateway) and is not read further: a failed attempt.
HSM_ANSWER_LIMIT = 64 * 1024


class Readiness(enum.Enum):
    """What one readiness check found; the value is how the log says it."""

    READY = "ready"
    #: HSM answered, but not 200 (or with an answer over the bound): up, not ready yet.
    NOT_READY = "not ready"
    #: No answer: refused, reset, a TLS or DNS failure, or nothing within Sm_timeout.
    NOT_REACHABLE = "not reachable"


@dataclass(frozen=True, slots=True)
class ReadyCheck:
    """One readiness check: what it found, and why in one line (for ``/health`` and the log)."""

    readiness: Readiness
    reason: str = ""

    @property
    def ready(self) -> bool:
        """Whether HSM said it is ready."""
        return self.readiness is Readiness.READY


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
            engine.books.readiness(None, "")
        else:
            check = await _ask_ready(client, params.sm_url, params.sm_timeout)
            _record_readiness(engine, check, away)
        # While HSM is away, look again every Interval, so held changes go soon after it is back.
        period = (
            READY_POLL_PERIOD
            if engine.books.health.ready
            else min(READY_POLL_PERIOD, params.interval)
        )
        with trio.move_on_after(period):
            await engine.params_changed.wait()


async def _ask_ready(client: httpx.AsyncClient, sm_url: str, limit: float) -> ReadyCheck:
    url = f"{sm_url.rstrip('/')}/service/ready"
    away, not_ready = Readiness.NOT_REACHABLE, Readiness.NOT_READY
    try:
        with trio.fail_after(limit):
            response = await fetch_bounded(client, "GET", url, limit=HSM_ANSWER_LIMIT)
    except trio.TooSlowError:
        return ReadyCheck(away, f"no answer from {url} within {limit:g} s")
    except AnswerRefused as error:
        why = f"{url} answered {error.status_code} with more than {error.limit} bytes"
        return ReadyCheck(not_ready, why)
    except httpx.HTTPError as error:
        return ReadyCheck(away, f"{url}: {describe_error(error)}")
    if response.status_code != 200:
        return ReadyCheck(not_ready, f"{url} answered {response.status_code}")
    return ReadyCheck(Readiness.READY)


class _AwayReport:
    """One WARNING when HSM goes away, then one every ``AWAY_REPEAT`` seconds with a count.

    HSM is often not up yet when the tracker starts (or is down for maintenance); a line per
    poll would drown the log, and one line only would leave an operator unsure it persists.
    """

    def __init__(self) -> None:
        self.since: float | None = None
        self.failed = 0
        self.next_report = 0.0

    def failed_check(self, engine: Engine, check: ReadyCheck) -> None:
        now = trio.current_time()
        self.failed += 1
        if self.since is None:
            self.since = now
        elif now < self.next_report:
            return
        self.next_report = now + AWAY_REPEAT
        held = engine.books.pending_count
        what, reason = check.readiness.value, check.reason
        if self.failed == 1:
            log.warning(
                "HSM %s at %s (%s); holding %s, checking every %g s",
                what,
                redact_url(engine.params.sm_url),
                reason,
                plural(held, "change"),
                min(READY_POLL_PERIOD, engine.params.interval),
            )
        else:
            log.warning(
                "HSM %s at %s for %d min (%s; last: %s); holding %s",
                what,
                redact_url(engine.params.sm_url),
                round((now - self.since) / 60),
                plural(self.failed, "failed check"),
                reason,
                plural(held, "change"),
            )

    def back(self, engine: Engine) -> None:
        if self.failed:
            log.info(
                "HSM is ready at %s after %s",
                redact_url(engine.params.sm_url),
                plural(self.failed, "failed check"),
            )
        else:
            log.info("HSM is ready at %s", redact_url(engine.params.sm_url))
        self.since, self.failed, self.next_report = None, 0, 0.0


def _record_readiness(engine: Engine, check: ReadyCheck, away: _AwayReport) -> None:
    before = engine.books.readiness(check.ready, check.reason)
    if check.ready and before is not True:
        away.back(engine)
    elif not check.ready:
        away.failed_check(engine, check)


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
        while not (engine.books.may_send() and engine.books.has_work(engine.clock())):
            # Refused states come due by themselves; so does the end of a refusal backoff.
            if engine.books.may_send():
                wake = engine.books.next_retry() or math.inf
            else:
                wake = _gate(engine)
            with trio.move_on_at(wake):
                await engine.books.wait_work(engine.params_changed)
        await trio.sleep(batch_window)
        if not await send_round(engine, client):
            # HSM failed some PATCHes: they wait in the ledger; Interval paces the retry.
            with trio.move_on_after(engine.params.interval):
                await engine.params_changed.wait()


def _gate(engine: Engine) -> float:
    until = engine.books.health.refused_until
    return until if until > engine.clock() else math.inf


async def send_round(engine: Engine, client: httpx.AsyncClient) -> bool:
    """Take every pending change and send it.

    Returns:
        False if some PATCH failed for a passing reason (HSM down, slow, 5xx); a refusal
        (4xx) is not one: refused states wait on their own backoff.
    """
    patches = engine.books.take(engine.clock())
    if not patches:
        return True
    outcome = {"failed": 0}
    limiter = trio.CapacityLimiter(MAX_CONCURRENT_PATCHES)

    async def deliver(patch: HsmPatch) -> None:
        async with limiter:
            if not await _send_patch(engine, client, patch, _Round()):
                outcome["failed"] += 1

    async with trio.open_nursery() as nursery:
        for patch in patches:
            nursery.start_soon(deliver, patch)
    return outcome["failed"] == 0


@dataclass(slots=True)
class _Round:
    # What one top-level patch's bisection found so far.
    delivered: int = 0
    refused_alone: int = 0
    refused_all: str | None = None  # set once HSM is seen to refuse every ID it is sent


async def _send_patch(
    engine: Engine, client: httpx.AsyncClient, patch: HsmPatch, found: _Round
) -> bool:
    """Send one PATCH with retries; settle it in the ledger.

    A 401, 403 or other 4xx (but 400, 408 and 429) is HSM or its gateway refusing us: the
    states are held, and nothing is sent until a backoff ends. A 400 is HSM refusing the
    content: the batch is split in halves until the refused IDs are found and held, so one
    bad ID never holds back the others. Nothing refused is ever dropped.

    Returns:
        False if it failed for a passing reason (unreachable, timeout, 5xx, 408, 429).
    """
    if found.refused_all is not None:  # HSM refuses every ID: hold the rest without asking
        engine.books.refused(
            patch, cause=found.refused_all, whole=True, detail=engine.books.health.last_error
        )
        return True
    params = engine.params
    url = f"{params.sm_url.rstrip('/')}/State/Components/BulkStateData"
    status: int | None = None
    with trio.move_on_after(params.sm_timeout):
        for attempt in range(params.sm_retries + 1):
            if attempt:
                await trio.sleep(min(0.25 * 2**attempt, 2.0))
            # Nodes that changed meanwhile go with their newer state, never with this one.
            narrowed = engine.books.narrow(patch)
            if narrowed is None:
                return True
            patch = narrowed
            body = patch.body()
            started = trio.current_time()
            outcome = "timeout"  # kept if Sm_timeout cancels the request
            error: str | None = None
            try:
                response = await fetch_bounded(
                    client, "PATCH", url, limit=HSM_ANSWER_LIMIT, json=body
                )
                outcome = _patch_outcome(response.status_code)
                if response.status_code not in _SUCCESS:
                    error = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as failure:
                # An answer over the bound came from a broken peer: failed, tried again.
                outcome = "failed" if isinstance(failure, AnswerRefused) else "unreachable"
                error = describe_error(failure)
                continue
            finally:
                engine.books.attempt(outcome, trio.current_time() - started, error=error)
            status = response.status_code
            if status in _SUCCESS:
                engine.books.delivered(patch)
                found.delivered += 1
                return True
            if outcome == "refused":
                detail = error or f"HTTP {status}"
                if status != 400:
                    cause = f"HTTP {status} for whole batches (HSM or its gateway refuses us)"
                    engine.books.refused(patch, cause=cause, whole=True, detail=detail)
                    return True
                return await _isolate_refused(engine, client, patch, found, detail)
    timed_out = None
    if status is None and not engine.books.health.last_error:
        timed_out = f"no answer within {params.sm_timeout} s"
    engine.books.failed(patch, error=timed_out)
    log.warning(
        "HSM PATCH of %s to %s failed (%s); will resend",
        plural(len(patch.xnames), "component"),
        patch.kind.hsm.message,
        engine.books.health.last_error,
    )
    return False


def _patch_outcome(status: int) -> str:
    # The ``outcome`` label of the PATCH metrics.
    if status in _SUCCESS:
        return "delivered"
    if 400 <= status < 500 and status not in (408, 429):
        return "refused"
    return "failed"


async def _isolate_refused(
    engine: Engine, client: httpx.AsyncClient, patch: HsmPatch, found: _Round, detail: str
) -> bool:
    if len(patch.xnames) == 1:
        found.refused_alone += 1
        if found.refused_alone >= 2 and not found.delivered:
            # Two single IDs refused and none accepted: HSM refuses everything, not these IDs.
            # Bisecting further would cost two requests per ID; hold the rest and back off.
            found.refused_all = "HTTP 400 for every component tried"
            engine.books.refused(patch, cause=found.refused_all, whole=True, detail=detail)
        else:
            engine.books.refused(
                patch, cause="HTTP 400 for single components", whole=False, detail=detail
            )
        return True
    first, second = patch.split()
    delivered_first = await _send_patch(engine, client, first, found)
    delivered_second = await _send_patch(engine, client, second, found)
    return delivered_first and delivered_second


async def flush_hsm(engine: Engine, client: httpx.AsyncClient, *, within: float) -> None:
    """On shutdown: hand what is pending to HSM, giving up after ``within`` seconds."""
    if not (engine.books.has_work() and engine.books.may_send(need_ready=False)):
        return
    with trio.move_on_after(within) as scope:
        await send_round(engine, client)
    left = engine.books.pending_count
    if scope.cancelled_caught or left:
        log.warning("shutting down with %s not delivered", plural(left, "HSM change"))
    else:
        log.info("delivered pending HSM changes before exit")

"""Reconciliation: read HSM back every ``Reconcile_interval`` and put back what hbtd owns.

HSM is not hbtd's alone: Redfish power events, discovery, operators' StateData PATCHes and
restores from backup write it too, and HSM skips changes silently (a 204 all the same). So the
leader reads the State and Flag of the components it knows (tracked, and remembered dead) in a
few bounded bulk reads, ``GET {Sm_url}/State/Components?stateonly=true&id=...``, and hands
them to the ledger, which takes them as its picture of HSM and wants whatever hbtd owns and HSM
does not show (``core.asserted_change``). The notifier sends that like any other change.

A level read back, not a guess: Kubernetes' node controller is the model. The deciding is in
the core; this module only reads. A round runs once HSM is ready after start, after taking
the lead, and every ``Reconcile_interval`` seconds (0: never).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import trio

from hb_agent import bound_for_items, fetch_bounded

from ..core import HsmView, Kind, plural
from ..engine import Engine

__all__ = ["MAX_IDS_PER_READ", "reconcile_round", "run_reconciler"]

log = logging.getLogger("hbtd.hsm")

#: Components per read: 500 IDs keep the URL near 10 KB, well inside what HSM (Go: 1 MiB of
#: headers) and its API gateway (Envoy: 60 KiB) take; 12,000 nodes are 24 reads.
MAX_IDS_PER_READ = 500
#: Reads in flight at once: one bounded burst, not a stampede on HSM.
MAX_CONCURRENT_READS = 4
#: How often a reconciler that may not read (not leading, HSM not ready) looks again.
_IDLE_CHECK = 5.0
#: xnames shown in the log line and /health of a round that corrected something.
_SAMPLE = 5


class _ReadFailed(Exception):
    pass


async def run_reconciler(
    engine: Engine,
    client: httpx.AsyncClient,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Reconcile with HSM for ever: after start, on taking the lead, and every interval."""
    task_status.started()
    books = engine.books
    health = books.reconcile_health
    while True:
        params = engine.params
        interval = params.reconcile_interval
        now = engine.clock()
        if interval <= 0 or not books.may_send():
            # Off, not leading, Nosm, or HSM not ready: look again soon or when woken.
            await books.wait_reconcile(now + (math.inf if interval <= 0 else _IDLE_CHECK))
            continue
        due = -math.inf if health.asked else health.started + interval
        if now < due:
            await books.wait_reconcile(due)
            continue
        health.begin(now)
        await reconcile_round(engine, client)


async def reconcile_round(engine: Engine, client: httpx.AsyncClient) -> list[tuple[str, Kind]]:
    """Read HSM for every component hbtd knows and let the ledger correct what differs.

    Returns:
        The corrections wanted (none when a read failed: the round is then dropped whole).
    """
    params, books = engine.params, engine.books
    health = books.reconcile_health
    names = books.reconcile_names(engine.views())
    started = engine.clock()
    url = f"{params.sm_url.rstrip('/')}/State/Components"
    chunks = [names[i : i + MAX_IDS_PER_READ] for i in range(0, len(names), MAX_IDS_PER_READ)]
    read: dict[str, HsmView | None] = {}
    failures: list[str] = []
    limiter = trio.CapacityLimiter(MAX_CONCURRENT_READS)

    async def fetch(chunk: Sequence[str]) -> None:
        async with limiter:
            if failures:
                return
            try:
                read.update(await _read(client, url, chunk, params.sm_timeout))
            except _ReadFailed as failure:
                failures.append(str(failure))

    async with trio.open_nursery() as nursery:
        for chunk in chunks:
            nursery.start_soon(fetch, chunk)
    seconds = engine.clock() - started
    last: dict[str, object] = {
        "At": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds"),
        "Components": len(names),
        "Requests": len(chunks),
        "Seconds": round(seconds, 3),
    }
    if failures:
        health.fail(last, failures[0])
        log.warning(
            "reconciliation with HSM skipped this round: %s; next in %d s",
            failures[0],
            params.reconcile_interval,
            extra={"event": "reconcile_failed"},
        )
        return []
    if not books.may_send(need_ready=False):
        # Lost the lead (or Nosm was set) while reading: these books are not ours to correct.
        health.drop(last, "not leading any more when the reads came back")
        return []
    corrected = books.reconciled(read, engine.view)
    unknown = sum(1 for view in read.values() if view is None)
    sample = [xname for xname, _ in corrected[:_SAMPLE]]
    health.done(
        corrected, last | {"Corrected": len(corrected), "Unknown": unknown, "Sample": sample}
    )
    if corrected:
        log.warning(
            "reconciliation: HSM differed from the heartbeats for %d of %s "
            "(e.g. %s); putting back what hbtd owns",
            len(corrected),
            plural(len(names), "component"),
            ", ".join(f"{x} to {k.hsm.state}/{k.hsm.flag}" for x, k in corrected[:_SAMPLE]),
            extra={"event": "reconciled", "corrected": len(corrected), "sample": sample},
        )
    return corrected


async def _read(
    client: httpx.AsyncClient, url: str, chunk: Sequence[str], limit: float
) -> dict[str, HsmView | None]:
    """The State and Flag of ``chunk`` (None for an ID HSM does not know)."""
    query = httpx.QueryParams([("stateonly", "true"), *(("id", xname) for xname in chunk)])
    try:
        with trio.fail_after(limit):
            # The answer is bounded by what was asked for: a component list of len(chunk).
            answer = await fetch_bounded(
                client, "GET", f"{url}?{query}", limit=bound_for_items(len(chunk))
            )
    except trio.TooSlowError:
        raise _ReadFailed(f"no answer from GET {url} within {limit:g} s") from None
    except httpx.HTTPError as error:  # AnswerRefused (too large) included
        raise _ReadFailed(f"GET {url}: {error.__class__.__name__}: {error}") from None
    if answer.status_code != 200:
        raise _ReadFailed(f"GET {url} answered {answer.status_code}")
    views = _parse(answer.content)
    if views is None:
        raise _ReadFailed(f"GET {url} answered something not a component list")
    return {xname: views.get(xname) for xname in chunk}


def _parse(body: bytes) -> dict[str, HsmView] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    components = document.get("Components") if isinstance(document, dict) else None
    if not isinstance(components, list):
        return None
    views: dict[str, HsmView] = {}
    for component in components:
        if not isinstance(component, dict):
            return None
        xname, state, flag = component.get("ID"), component.get("State"), component.get("Flag")
        if not isinstance(xname, str) or not isinstance(state, str):
            return None
        views[xname.lower()] = HsmView(state, flag if isinstance(flag, str) and flag else "OK")
    return views

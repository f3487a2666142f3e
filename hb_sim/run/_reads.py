"""The live runner's requests to the tracker and the mock HSM: each one bounded in size and time.

A live run talks to processes it may not own (``--target``, ``--hsm``); a wrong URL must fail
the run with one line, not fill the machine's memory or hang it.
"""

from __future__ import annotations

from typing import Any, Final

import httpx
import trio

from hb_agent import AnswerRefused, BoundedAnswer, fetch_bounded

from ..errors import HbSimError

__all__ = ["CALL_TIMEOUT", "RECORDS_LIMIT", "SMALL_LIMIT", "call"]

#: The longest one call may take, connection included.
CALL_TIMEOUT: Final = 30.0
#: Answers that carry no list (liveness, /params, faults, power): a problem document at most.
SMALL_LIMIT: Final = 64 * 1024
#: The mock HSM's records of a whole run (``/mock/changes``, ``/mock/requests``): a 12,000-node
#: run with many waves records a few tens of MB; far more is not a mock HSM's answer.
RECORDS_LIMIT: Final = 256 * 1024 * 1024


async def call(
    client: httpx.AsyncClient, method: str, url: str, *, limit: int = SMALL_LIMIT, **kwargs: Any
) -> BoundedAnswer:
    """Make one request under :data:`CALL_TIMEOUT`, reading at most ``limit`` bytes of answer.

    Raises:
        HbSimError: no answer in time, or one over ``limit`` (one line).
        httpx.HTTPError: the request failed otherwise (the tracker may be starting).
    """
    try:
        with trio.fail_after(CALL_TIMEOUT):
            return await fetch_bounded(client, method, url, limit=limit, **kwargs)
    except trio.TooSlowError:
        raise HbSimError(f"{method} {url}: no answer within {CALL_TIMEOUT:g} s") from None
    except AnswerRefused as refused:
        raise HbSimError(str(refused)) from None

"""``EtcdStore``: the store contract on etcd-server 3.4, through its v3 JSON gateway.

No trio etcd client exists, so this speaks the gRPC gateway's JSON with httpx: keys and values
are base64, 64-bit integers are strings, and ``/v3/watch`` is a stream of JSON lines. Every call
runs under ``trio.fail_after``; with several endpoints a failed call moves on to the next one.
httpx and gateway errors become :class:`StoreUnavailable` here and nowhere else.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Sequence
from typing import Any

import httpx
import trio

from hb_agent import AnswerRefused, fetch_bounded, read_lines_bounded

from ..core import describe_error
from ._contract import MAX_TXN_OPS, Op, StoreUnavailable, WatchEvent, WatchSink

__all__ = ["CALL_TIMEOUT", "EtcdStore"]

#: The longest one etcd call may take.
CALL_TIMEOUT = 3.0
#: The most bytes one answer of the gateway may have. The largest is a page of a range read
#: (5,000 keys): the tracker's records come to about 4 MB of base64 JSON; eight times that
#: leaves room, and anything longer is not etcd's answer and is not read further.
ETCD_ANSWER_LIMIT = 32 * 1024 * 1024
#: The most bytes one line (one batch of events) of the watch stream may have; the stream
#: itself never ends, so its lines are what is bounded.
_WATCH_LINE_LIMIT = 64 * 1024 * 1024


#: Answers are asked for unencoded (see ``hb_agent.fetch_bounded``).
_IDENTITY = {"Accept-Encoding": "identity"}


def _text(line: bytes) -> str:
    return line[:300].decode("utf-8", errors="replace")


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _prefix_end(prefix: str) -> str:
    # etcd's "range_end = prefix + 1": the first key after every key with this prefix.
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return _b64(b"\0")
    raw[-1] += 1
    return _b64(bytes(raw))


class EtcdStore:
    """The store contract on etcd.

    Args:
        endpoints: base URLs such as ``http://127.0.0.1:2379``; tried in turn.
        call_timeout: seconds any one call may take.
    """

    def __init__(
        self, endpoints: Sequence[str], *, prefix: str = "", call_timeout: float = CALL_TIMEOUT
    ) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.prefix = prefix
        self._endpoints = list(endpoints)
        self._current = 0
        self._timeout = call_timeout
        self._client = httpx.AsyncClient(
            timeout=None,  # calls are bounded by trio.fail_after
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )
        self._lease: str | None = None

    @property
    def description(self) -> str:
        return ",".join(self._endpoints) + f" (prefix {self.prefix!r})"

    # -- plumbing ---------------------------------------------------------------------------

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        errors = []
        for attempt in range(len(self._endpoints)):
            index = (self._current + attempt) % len(self._endpoints)
            endpoint = self._endpoints[index]
            try:
                with trio.fail_after(self._timeout):
                    response = await fetch_bounded(
                        self._client,
                        "POST",
                        f"{endpoint}{path}",
                        limit=ETCD_ANSWER_LIMIT,
                        json=body,
                    )
            except trio.TooSlowError:
                errors.append(f"{endpoint}: no answer within {self._timeout:g} s")
                continue
            except AnswerRefused as error:
                errors.append(str(error))
                continue
            except httpx.HTTPError as error:
                errors.append(f"{endpoint}: {describe_error(error)}")
                continue
            if response.status_code != 200:
                # The gateway answers a gRPC error as JSON with "error"/"message".
                message = response.text[:300].strip()
                raise StoreUnavailable(
                    f"{endpoint}{path} answered {response.status_code}: {message}"
                )
            self._current = index
            try:
                answer: dict[str, Any] = response.json()
            except ValueError:
                raise StoreUnavailable(f"{endpoint}{path} answered non-JSON") from None
            return answer
        raise StoreUnavailable("; ".join(errors))

    # -- keys -------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        answer = await self._call("/v3/kv/range", {"key": _b64(self.prefix + key)})
        kvs = answer.get("kvs") or []
        return _unb64(kvs[0].get("value", "")) if kvs else None

    async def get_prefix(self, prefix: str) -> tuple[dict[str, bytes], int]:
        found: dict[str, bytes] = {}
        strip = len(self.prefix)
        prefix = self.prefix + prefix
        start = _b64(prefix)
        end = _prefix_end(prefix)
        revision = 0
        while True:
            body: dict[str, Any] = {"key": start, "range_end": end, "limit": "5000"}
            if revision:
                body["revision"] = str(revision)  # every page from one consistent snapshot
            answer = await self._call("/v3/kv/range", body)
            revision = int(answer["header"]["revision"])
            kvs = answer.get("kvs") or []
            for kv in kvs:
                found[_unb64(kv["key"]).decode()[strip:]] = _unb64(kv.get("value", ""))
            if not answer.get("more") or not kvs:
                return found, revision
            start = _b64(_unb64(kvs[-1]["key"]) + b"\0")

    async def apply(self, ops: Sequence[Op]) -> int:
        if len(ops) > MAX_TXN_OPS:
            raise ValueError(f"{len(ops)} operations in one transaction (at most {MAX_TXN_OPS})")
        success = [_request(self.prefix + key, value) for key, value in ops]
        answer = await self._call("/v3/kv/txn", {"success": success})
        return int(answer["header"]["revision"])

    async def watch(
        self,
        prefix: str,
        sink: WatchSink,
        *,
        after: int,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        endpoint = self._endpoints[self._current]
        strip = len(self.prefix)
        prefix = self.prefix + prefix
        request = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _prefix_end(prefix),
                "start_revision": str(after + 1),
            }
        }
        started = False
        try:
            with trio.fail_after(self._timeout) as opening:
                async with self._client.stream(
                    "POST", f"{endpoint}/v3/watch", json=request, headers=_IDENTITY
                ) as response:
                    if response.status_code != 200:
                        raise StoreUnavailable(f"watch answered {response.status_code}")
                    async with contextlib.aclosing(
                        read_lines_bounded(response, _WATCH_LINE_LIMIT)
                    ) as lines:
                        async for line in lines:
                            if not line.strip():
                                continue
                            result = json.loads(line).get("result")
                            if result is None:
                                raise StoreUnavailable(f"watch failed: {_text(line)}")
                            if not started:
                                if not result.get("created"):
                                    raise StoreUnavailable(f"watch not created: {_text(line)}")
                                if result.get("compact_revision") not in (None, "0"):
                                    raise StoreUnavailable("watch start revision was compacted")
                                started = True
                                opening.deadline = float("inf")  # the stream lives on
                                task_status.started()
                            if result.get("canceled"):
                                raise StoreUnavailable(
                                    f"watch canceled: {result.get('cancel_reason', '')}"
                                )
                            events = [_event(e, strip) for e in result.get("events") or []]
                            if events:
                                sink(events)
        except trio.TooSlowError:
            raise StoreUnavailable(
                f"{endpoint}: watch not opened within {self._timeout:g} s"
            ) from None
        except AnswerRefused as error:
            raise StoreUnavailable(f"{endpoint}: watch: {error}") from None
        except (httpx.HTTPError, ValueError) as error:
            raise StoreUnavailable(f"{endpoint}: watch: {describe_error(error)}") from error
        raise StoreUnavailable(f"{endpoint}: watch stream ended")

    # -- the lease --------------------------------------------------------------------------

    async def acquire(self, key: str, value: bytes, *, ttl: float) -> bool:
        if self._lease is None:
            answer = await self._call("/v3/lease/grant", {"TTL": str(max(1, round(ttl)))})
            self._lease = str(answer["ID"])
        key = self.prefix + key
        answer = await self._call(
            "/v3/kv/txn",
            {
                "compare": [{"key": _b64(key), "target": "CREATE", "create_revision": "0"}],
                "success": [
                    {"request_put": {"key": _b64(key), "value": _b64(value), "lease": self._lease}}
                ],
                "failure": [{"request_range": {"key": _b64(key)}}],
            },
        )
        if answer.get("succeeded"):
            return True
        responses = answer.get("responses") or [{}]
        kvs = responses[0].get("response_range", {}).get("kvs") or []
        if kvs and str(kvs[0].get("lease", "0")) == self._lease:
            return True
        # Someone else leads. The unused lease runs out by itself; the next try grants anew,
        # so a stale lease is never attached to the key.
        self._lease = None
        return False

    async def refresh(self) -> bool:
        if self._lease is None:
            return False
        answer = await self._call("/v3/lease/keepalive", {"ID": self._lease})
        ttl = int((answer.get("result") or {}).get("TTL", "0"))
        if ttl <= 0:
            self._lease = None
            return False
        return True

    async def release(self) -> None:
        if self._lease is not None:
            lease, self._lease = self._lease, None
            await self._call("/v3/lease/revoke", {"ID": lease})

    async def aclose(self) -> None:
        await self._client.aclose()


def _request(key: str, value: bytes | None) -> dict[str, Any]:
    if value is None:
        return {"request_delete_range": {"key": _b64(key)}}
    return {"request_put": {"key": _b64(key), "value": _b64(value)}}


def _event(event: dict[str, Any], strip: int) -> WatchEvent:
    kv = event["kv"]
    key = _unb64(kv["key"]).decode()[strip:]
    revision = int(kv.get("mod_revision", "0"))
    if event.get("type") == "DELETE":
        return WatchEvent(key, None, revision)
    return WatchEvent(key, _unb64(kv.get("value", "")), revision)

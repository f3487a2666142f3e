"""Reading HTTP answers with a stated bound: the one reader every client of the project uses.

A peer that answers with an endless body (a wrong URL, a proxy's error page, a file server on
the port, a hostile host) must cost a client a few buffers, not its node's memory. So answers
are streamed (``client.stream``) and read here up to a bound; past it, the read stops, the
connection is closed (httpx does not return a half-read connection to its pool) and
:class:`AnswerRefused` says so in one line. It subclasses ``httpx.HTTPError``, so a caller's
``except httpx.HTTPError`` already counts it as a failed attempt.

Headers are bounded below this module: httpcore hands h11 a limit of 100 KiB for one
incomplete event (the status line and headers up to the blank line, or a chunk header), and h11
raises a ``RemoteProtocolError`` past it, before any of it becomes a header object. Time is the
caller's: every read here runs under the caller's ``trio.fail_after``, so a trickling peer costs
at most that deadline.

Answers are asked for unencoded (``Accept-Encoding: identity``): a 64 KiB gzip chunk can
inflate to 64 MiB in one call, before any bound is checked. An answer encoded anyway is refused.

This module lives in the bare package because it is the one installed everywhere (the agent,
the tracker, the simulator); it imports nothing but httpx.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import trio

__all__ = [
    "AnswerRefused",
    "BoundedAnswer",
    "bound_for_items",
    "fetch_bounded",
    "read_bounded",
    "read_lines_bounded",
]

#: What a reconciliation-style read allows per item asked for: an HSM component as JSON is
#: about 250 bytes (ID, Type, State, Flag, Enabled, Role, NID, Arch, Class...), pretty-printed
#: about 450; four times the compact form leaves room for fields a newer HSM adds.
ITEM_BYTES = 1024
#: What any answer may have beyond its items: the envelope, an error document, a few headers.
BASE_BYTES = 64 * 1024


def bound_for_items(count: int, *, per_item: int = ITEM_BYTES, base: int = BASE_BYTES) -> int:
    """The bound for an answer that lists ``count`` items (components, records).

    Args:
        count: how many items the request asks for (or the tracker tracks).
        per_item: bytes allowed for each.
        base: bytes allowed besides the items.

    Returns:
        ``base + count * per_item`` bytes; 12,000 components come to about 12 MB.
    """
    return base + max(count, 0) * per_item


class AnswerRefused(httpx.HTTPError):
    """An answer this reader would not take: over its bound, or encoded though not asked to be.

    Attributes:
        status_code: the HTTP status of the refused answer, so a caller can still tell a
            refusal (4xx) from a 200 that never ended.
        limit: the bound in bytes.
    """

    def __init__(self, message: str, *, status_code: int, limit: int) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.limit = limit


def _where(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url.copy_with(query=None)}"


def _check_encoding(response: httpx.Response, limit: int) -> None:
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise AnswerRefused(
            f"{_where(response)}: HTTP {response.status_code} answer is {encoding}-encoded "
            "though none was asked for; not read",
            status_code=response.status_code,
            limit=limit,
        )


def _over(response: httpx.Response, limit: int, what: str = "answer") -> AnswerRefused:
    return AnswerRefused(
        f"{_where(response)}: HTTP {response.status_code} {what} is over the bound of "
        f"{limit} bytes; connection closed",
        status_code=response.status_code,
        limit=limit,
    )


async def _raw(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    try:
        # Already in memory (an in-process transport such as httpx.MockTransport hands over
        # answers read): nothing is left to stream, and the bound still applies.
        content = response.content
    except httpx.ResponseNotRead:
        pass
    else:
        yield content
        return
    chunks = response.aiter_raw()
    ended = False
    try:
        async for chunk in chunks:
            yield chunk
        ended = True
    finally:
        if not ended:
            await _abandon(response, chunks)


async def _abandon(response: httpx.Response, chunks: AsyncIterator[bytes]) -> None:
    """Close a half-read answer's connection and let httpx's reading generators end.

    httpx reads through several nested async generators; leaving them suspended would have
    them closed later by the garbage collector (with a ResourceWarning). Once the connection is
    closed, one more read fails at once, and that failure ends every one of them now.
    """
    await response.aclose()
    with contextlib.suppress(httpx.HTTPError, trio.BrokenResourceError, trio.ClosedResourceError):
        async for _ in chunks:
            pass


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """Read a streamed answer's body, at most ``limit`` bytes of it.

    Args:
        response: an answer from ``client.stream(...)``, not read yet.
        limit: the most bytes the body may have.

    Returns:
        The whole body.

    Raises:
        AnswerRefused: when the body (or its declared ``Content-Length``) passes ``limit``, or
            when it is content-encoded.
    """
    _check_encoding(response, limit)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _over(response, limit)  # said so up front: no need to read any of it
    parts: list[bytes] = []
    size = 0
    async with contextlib.aclosing(_raw(response)) as chunks:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise _over(response, limit)
            parts.append(chunk)
    return b"".join(parts)


async def read_lines_bounded(response: httpx.Response, limit: int) -> AsyncGenerator[bytes, None]:
    """Yield a streamed answer's lines (without ``\\n``), none longer than ``limit`` bytes.

    For answers that never end on purpose (a watch stream): the body has no bound, each line
    does, so a peer sending one endless line is refused like an endless body.

    Args:
        response: an answer from ``client.stream(...)``, not read yet.
        limit: the most bytes one line may have.

    Yields:
        Each line, ``\\r\\n`` or ``\\n`` removed; a last line without its newline too.

    Raises:
        AnswerRefused: when a line passes ``limit``, or the answer is content-encoded.
    """
    _check_encoding(response, limit)
    pending = bytearray()
    async with contextlib.aclosing(_raw(response)) as chunks:
        async for chunk in chunks:
            pending += chunk
            while (end := pending.find(b"\n")) >= 0:
                line = bytes(pending[:end]).removesuffix(b"\r")
                del pending[: end + 1]
                if len(line) > limit:
                    raise _over(response, limit, "line")
                yield line
            if len(pending) > limit:
                raise _over(response, limit, "line")
    if pending:
        yield bytes(pending).removesuffix(b"\r")


@dataclass(frozen=True, slots=True)
class BoundedAnswer:
    """A whole answer, read within its bound.

    Attributes:
        status_code: the HTTP status.
        reason_phrase: the status text.
        headers: the answer's headers.
        content: the body.
    """

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        """The body as text (UTF-8; what does not decode is replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body decoded as JSON.

        Raises:
            ValueError: when it is not JSON.
        """
        return json.loads(self.content)


async def fetch_bounded(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    limit: int,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> BoundedAnswer:
    """Make one request and read its answer within ``limit`` bytes.

    Call it under the request's total deadline (``trio.fail_after``): connecting, sending,
    the headers and every read of the body all happen inside this call.

    Args:
        client: the HTTP client.
        method: the HTTP method.
        url: the URL.
        limit: the most bytes the answer's body may have.
        json: a body to send as JSON.
        params: query parameters.
        headers: extra request headers.

    Returns:
        The answer, whole.

    Raises:
        AnswerRefused: when the answer passes ``limit`` or is content-encoded.
        httpx.HTTPError: any other failure of the request.
    """
    sent = {"Accept-Encoding": "identity", **(headers or {})}
    async with client.stream(method, url, json=json, params=params, headers=sent) as response:
        content = await read_bounded(response, limit)
        return BoundedAnswer(
            response.status_code, response.reason_phrase, response.headers, content
        )

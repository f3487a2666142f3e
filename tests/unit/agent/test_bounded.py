"""The bounded reader: answers within the bound are whole, the rest refused in one line."""

from __future__ import annotations

import httpx
import pytest
import trio

from hb_agent import AnswerRefused, bound_for_items, fetch_bounded, read_lines_bounded
from hb_agent._bounded import read_bounded
from tests.hostile_peer import hostile_peer


def _client(answer: httpx.Response) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))


async def test_an_answer_within_the_bound_is_read_whole() -> None:
    async with _client(httpx.Response(200, json={"a": 1})) as client:
        answer = await fetch_bounded(client, "GET", "http://peer/x", limit=100)
    assert (answer.status_code, answer.json(), answer.text) == (200, {"a": 1}, '{"a":1}')


async def test_an_answer_of_exactly_the_bound_is_read() -> None:
    async with _client(httpx.Response(200, content=b"x" * 100)) as client:
        answer = await fetch_bounded(client, "GET", "http://peer/x", limit=100)
    assert answer.content == b"x" * 100


async def test_an_answer_over_the_bound_is_refused_with_its_status() -> None:
    async with _client(httpx.Response(503, content=b"x" * 101)) as client:
        with pytest.raises(AnswerRefused) as refused:
            await fetch_bounded(client, "GET", "http://me:pw@peer/x?token=secret", limit=100)
    assert refused.value.status_code == 503
    assert refused.value.limit == 100
    # One line, without the query or the password (either may carry a secret).
    assert str(refused.value) == (
        "GET http://peer/x: HTTP 503 answer is over the bound of 100 bytes; connection closed"
    )
    assert isinstance(refused.value, httpx.HTTPError)  # callers count it as a failed attempt


async def test_identity_is_asked_for_and_an_encoded_answer_refused() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Encoding"])
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"\x1f\x8b")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(AnswerRefused, match="gzip-encoded"):
            await fetch_bounded(client, "GET", "http://peer/x", limit=100)
    assert seen == ["identity"]


def test_bound_for_items_grows_with_the_count() -> None:
    assert bound_for_items(0) == 64 * 1024
    assert bound_for_items(12_000) == 64 * 1024 + 12_000 * 1024
    assert bound_for_items(10, per_item=10, base=5) == 105
    assert bound_for_items(-3) == 64 * 1024


@pytest.mark.parametrize("mode", ["endless", "2gb"])
async def test_an_endless_body_from_a_real_peer_is_cut_at_the_bound(mode: str) -> None:
    async with hostile_peer(mode) as peer, httpx.AsyncClient() as client:
        with trio.fail_after(10), pytest.raises(AnswerRefused, match="over the bound"):
            await fetch_bounded(client, "GET", f"{peer.url}/ready", limit=256 * 1024)
        # The connection was closed, not pooled: the next request opens a new one.
        with trio.fail_after(10), pytest.raises(AnswerRefused):
            await fetch_bounded(client, "GET", f"{peer.url}/ready", limit=256 * 1024)
    assert peer.requests == 2


async def test_a_header_flood_is_refused_by_h11() -> None:
    async with hostile_peer("headers") as peer, httpx.AsyncClient() as client:
        with trio.fail_after(10), pytest.raises(httpx.RemoteProtocolError):
            await fetch_bounded(client, "GET", f"{peer.url}/ready", limit=1024)


async def test_lines_are_yielded_and_an_endless_line_refused() -> None:
    lines: list[bytes] = []

    async def watch(client: httpx.AsyncClient, url: str) -> None:
        async with client.stream("POST", f"{url}/v3/watch") as response:
            async for line in read_lines_bounded(response, 100_000):
                lines.append(line)

    async with hostile_peer("line") as peer, httpx.AsyncClient() as client:
        with trio.fail_after(10), pytest.raises(AnswerRefused, match="line is over the bound"):
            await watch(client, peer.url)
    assert lines == [b'{"result":{"created":true,"header":{}}}']


async def test_lines_of_an_ended_answer() -> None:
    async with (
        _client(httpx.Response(200, content=b"a\r\n\nbc\nlast")) as client,
        client.stream("GET", "http://peer/x") as response,
    ):
        lines = [line async for line in read_lines_bounded(response, 4)]
    assert lines == [b"a", b"", b"bc", b"last"]


async def test_a_declared_length_over_the_bound_is_refused_unread() -> None:
    async with (
        _client(httpx.Response(200, headers={"Content-Length": "5000"}, content=b"x" * 5000)) as c,
        c.stream("GET", "http://peer/x") as response,
    ):
        with pytest.raises(AnswerRefused):
            await read_bounded(response, 4999)

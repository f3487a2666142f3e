"""The sender maps every answer and failure to the agent's own errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from hb_agent._errors import (
    ConfigError,
    SendError,
    TrackerBusy,
    TrackerRejected,
    TrackerUnreachable,
)
from hb_agent._identity import Identity
from hb_agent._sender import Sender, make_client
from tests.hostile_peer import hostile_peer

from .conftest import BASE, XNAME, FakeTracker, make_sender


async def test_xname_form(tracker: FakeTracker) -> None:
    async with tracker.client() as client:
        await make_sender(client).send(status="OK", timestamp="T")
    (beat,) = tracker.beats
    assert beat.url == f"{BASE}/heartbeat/{XNAME}"
    assert beat.body == {"Status": "OK", "TimeStamp": "T"}


async def test_full_form(tracker: FakeTracker) -> None:
    async with tracker.client() as client:
        await make_sender(client, full_form=True).send(status="OK", timestamp="T")
    (beat,) = tracker.beats
    assert beat.url == f"{BASE}/heartbeat"
    assert beat.body == {
        "Component": XNAME,
        "Hostname": "nid000017",
        "NID": "17",
        "Status": "OK",
        "TimeStamp": "T",
    }


@pytest.mark.parametrize(
    ("code", "error", "cause"),
    [
        (500, TrackerBusy, "HTTP 500"),
        (503, TrackerBusy, "HTTP 503"),
        (429, TrackerBusy, "HTTP 429"),
        (408, TrackerBusy, "HTTP 408"),
        (400, TrackerRejected, "HTTP 400: xname is not valid"),
        (404, TrackerRejected, "HTTP 404: xname is not valid"),
        (301, TrackerRejected, "HTTP 301: xname is not valid"),
    ],
)
async def test_status_codes(code: int, error: type[SendError], cause: str) -> None:
    problem = {"type": "about:blank", "title": "Bad", "detail": "xname is not valid"}
    tracker = FakeTracker(reply=lambda _r, _t: httpx.Response(code, json=problem))
    async with tracker.client() as client:
        with pytest.raises(error) as caught:
            await make_sender(client).send(status="OK", timestamp="T")
    assert caught.value.cause == cause
    assert caught.value.retryable is (error is TrackerBusy)
    assert f"HTTP {code}: xname is not valid" in str(caught.value)


async def test_rejection_detail_falls_back_to_text_then_reason() -> None:
    replies = iter([httpx.Response(401, text="token expired"), httpx.Response(403)])
    tracker = FakeTracker(reply=lambda _r, _t: next(replies))
    async with tracker.client() as client:
        sender = make_sender(client)
        with pytest.raises(TrackerRejected, match="HTTP 401: token expired"):
            await sender.send(status="OK", timestamp="T")
        with pytest.raises(TrackerRejected, match="HTTP 403: Forbidden"):
            await sender.send(status="OK", timestamp="T")


async def test_connection_errors_are_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(TrackerUnreachable, match=r"ConnectError: .*refused") as caught:
            await make_sender(client).send(status="OK", timestamp="T")
    assert caught.value.cause == "ConnectError"
    assert caught.value.__cause__ is None  # no chained traceback in the journal


async def test_a_silent_tracker_times_out(autojump_clock: trio.testing.MockClock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        with pytest.raises(TrackerUnreachable, match=r"no answer within 2\.5s") as caught:
            await make_sender(client, timeout=2.5).send(status="OK", timestamp="T")
    assert caught.value.cause == "timeout"
    assert trio.current_time() == 2.5


async def test_params(tracker: FakeTracker) -> None:
    tracker.params = {"Warntime": "12", "Errtime": "40", "Interval": "5", "Debug": "0"}
    async with tracker.client() as client:
        params = await make_sender(client).fetch_params()
    assert (params.warntime, params.errtime, params.interval) == (12.0, 40.0, 5.0)
    assert tracker.requests[0].url == f"{BASE}/params"


async def test_params_that_are_not_json_become_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        params = await make_sender(client).fetch_params()
    assert params.warntime is None


async def test_token_file_is_read_for_every_request(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200)

    token = tmp_path / "token"
    token.write_text("one\n")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sender = make_sender(client, token_file=token)
        await sender.send(status="OK", timestamp="T")
        token.write_text("two")
        await sender.send(status="OK", timestamp="T")
        token.unlink()
        with pytest.raises(TrackerRejected, match="cannot read the token file"):
            await sender.send(status="OK", timestamp="T")
    assert seen == ["Bearer one", "Bearer two"]


async def test_sender_needs_a_url(tracker: FakeTracker) -> None:
    identity = Identity(xname=XNAME, nid=None, hostname=None, url=None)
    async with tracker.client() as client:
        with pytest.raises(ValueError, match="URL"):
            Sender(client=client, identity=identity)


def test_client_for_plain_http_loads_no_certificates() -> None:
    client = make_client(url="http://127.0.0.1:1/hmi/v1")
    context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context.cert_store_stats()["x509_ca"] == 0


def test_client_with_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load CA certificates"):
        make_client(url="https://h/hmi/v1", ca_cert=tmp_path / "missing.pem")


@pytest.mark.parametrize("code", [200, 502])
async def test_an_answer_over_the_bound_is_a_busy_tracker(code: int) -> None:
    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, content=b"x" * 20_000)

    async with httpx.AsyncClient(transport=httpx.MockTransport(huge)) as client:
        with pytest.raises(TrackerBusy, match=rf"HTTP {code} answer is over the bound") as caught:
            await make_sender(client).send(status="OK", timestamp="T")
        with pytest.raises(TrackerBusy):
            await make_sender(client).fetch_params()
    assert caught.value.cause == "answer over 16384 bytes"  # one cause: grouped in the log
    assert caught.value.retryable


@pytest.mark.parametrize("mode", ["endless", "2gb", "headers"])
async def test_a_real_peer_that_never_ends_its_answer(mode: str) -> None:
    expected = TrackerUnreachable if mode == "headers" else TrackerBusy  # h11 refuses a flood
    async with hostile_peer(mode) as peer, make_client(url=peer.url) as client:
        identity = Identity(xname=XNAME, nid=17, hostname=None, url=f"{peer.url}/hmi/v1")
        sender = Sender(client=client, identity=identity, timeout=10)
        for _ in range(3):  # the connection is closed each time; the next attempt works again
            with trio.fail_after(20), pytest.raises(expected):
                await sender.send(status="OK", timestamp="T")
    assert peer.requests == 3

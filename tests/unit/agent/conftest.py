"""Shared helpers for the agent's unit tests: fake node trees and a recording tracker."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trio

from hb_agent._identity import Identity
from hb_agent._sender import Sender

XNAME = "x1000c0s0b0n0"
BASE = "http://tracker.test/hmi/v1"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def make_tree(
    root: Path,
    *,
    xname: str | None = None,
    nid: str | None = None,
    cmdline: str | None = None,
    tainted: str | None = None,
    meminfo: str | None = None,
) -> Path:
    """Write a fake node file system under ``root``; None leaves a file out."""
    files = {
        "etc/cray/xname": xname,
        "etc/cray/nid": nid,
        "proc/cmdline": cmdline,
        "proc/sys/kernel/tainted": tainted,
        "proc/meminfo": meminfo,
    }
    for relative, text in files.items():
        if text is not None:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def virtual_wall_clock() -> datetime:
    """A wall clock that follows trio's (mock) clock, so stamps are deterministic."""
    return EPOCH + timedelta(seconds=trio.current_time())


@dataclass
class Beat:
    """One request the fake tracker saw."""

    at: float
    method: str
    url: str
    body: dict[str, str]


@dataclass
class FakeTracker:
    """A scripted tracker for ``httpx.MockTransport``.

    ``reply`` decides each answer from the request and trio's time; every request is recorded
    with the time it arrived.
    """

    reply: Callable[[httpx.Request, float], httpx.Response] = field(
        default=lambda _request, _now: httpx.Response(200, json={})
    )
    params: dict[str, str] = field(default_factory=lambda: {"Warntime": "10", "Errtime": "30"})
    requests: list[Beat] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        now = trio.current_time()
        body = json.loads(request.content) if request.content else {}
        self.requests.append(Beat(now, request.method, str(request.url), body))
        if request.method == "GET" and request.url.path.endswith("/params"):
            return httpx.Response(200, json=self.params)
        return self.reply(request, now)

    @property
    def beats(self) -> list[Beat]:
        """The heartbeats, without /params reads."""
        return [beat for beat in self.requests if beat.method == "POST"]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def tracker() -> FakeTracker:
    return FakeTracker()


def make_sender(client: httpx.AsyncClient, **options: object) -> Sender:
    identity = Identity(xname=XNAME, nid=17, hostname="nid000017", url=BASE)
    return Sender(client=client, identity=identity, **options)  # type: ignore[arg-type]

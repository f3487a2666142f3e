"""Shared fixtures for the HTTP API tests: an engine on a hand-driven clock, and a client.

The ``client`` fixture runs every test against the lean server's connection (inline
heartbeats, Quart through its ASGI bridge) over an in-memory stream (#12); ``make_client``
calls an ASGI app (the Quart app alone) through ``httpx.ASGITransport``. No sockets, no real
time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hbtd_server.core import DEFAULT_PARAMS, Params
from hbtd_server.engine import Engine
from hbtd_server.http import HeartbeatRoutes, Limits, create_quart_app
from hbtd_server.http._connection import Site
from tests.http_wire import LeanTransport

BASE_URL = "http://hbtd"
API = "/hmi/v1"
PROBLEM_JSON = "application/problem+json"


class ManualClock:
    """A clock that moves only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_client(app: Any) -> httpx.AsyncClient:
    """An in-process client for any ASGI app."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def problem(status: int, title: str, detail: str | None, instance: str) -> bytes:
    """The exact bytes of an hms-base RFC 7807 body (member order, trailing newline)."""
    document: dict[str, object] = {"type": "about:blank", "title": title}
    if detail is not None:
        document["detail"] = detail
    document["instance"] = instance
    document["status"] = status
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def hb_body(**fields: object) -> bytes:
    """A compact JSON heartbeat body from keyword fields, in the order given."""
    return json.dumps(fields, separators=(",", ":")).encode()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def params() -> Params:
    return DEFAULT_PARAMS


@pytest.fixture
def engine(params: Params, clock: ManualClock) -> Engine:
    return Engine(params, clock=clock)


def make_lean_client(engine: Engine, app: Any) -> httpx.AsyncClient:
    """An in-process client of the lean server serving ``app`` and the inline heartbeats."""
    site = Site(app, inline=HeartbeatRoutes(engine), limits=Limits())
    return httpx.AsyncClient(transport=LeanTransport(site), base_url=BASE_URL)


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with make_lean_client(engine, create_quart_app(engine)) as http:
        yield http

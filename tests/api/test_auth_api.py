"""The admin token in process (#8): who must show it, what a refusal looks like."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hbtd_server import Engine, create_quart_app
from hbtd_server.http import AdminAuth
from hbtd_server.ops import Metrics

from .conftest import API, PROBLEM_JSON, hb_body, make_lean_client

TOKEN = "s3cret-token-0123456789"
GOOD = {"Authorization": f"Bearer {TOKEN}"}
HEARTBEAT = hb_body(Status="OK", TimeStamp="2026-11-25T10:00:00+00:00")


def auth_client(engine: Engine, *, protect_reads: bool) -> httpx.AsyncClient:
    admin = AdminAuth(token=TOKEN.encode(), protect_reads=protect_reads)
    metrics = Metrics(engine, process=False)
    return make_lean_client(engine, create_quart_app(engine, metrics=metrics, admin=admin))


@pytest.fixture
async def admin_client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with auth_client(engine, protect_reads=False) as client:
        yield client


@pytest.fixture
async def reads_client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with auth_client(engine, protect_reads=True) as client:
        yield client


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="hbtd"'),
        ({"Authorization": "Bearer wrong"}, 'Bearer realm="hbtd", error="invalid_token"'),
        ({"Authorization": f"Basic {TOKEN}"}, 'Bearer realm="hbtd", error="invalid_token"'),
        ({"Authorization": f"Bearer {TOKEN}x"}, 'Bearer realm="hbtd", error="invalid_token"'),
        ({"Authorization": "Bearer"}, 'Bearer realm="hbtd", error="invalid_token"'),
    ],
)
async def test_patch_params_without_the_token_is_refused(
    admin_client: httpx.AsyncClient, engine: Engine, headers: dict[str, str], challenge: str
) -> None:
    before = engine.params
    response = await admin_client.patch(f"{API}/params", json={"Warntime": "20"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == challenge
    problem = response.json()
    assert problem["status"] == 401
    assert problem["title"] == "Unauthorized"
    assert problem["instance"] == f"{API}/params"
    assert TOKEN not in response.text
    assert engine.params is before


async def test_patch_params_with_the_token_works(
    admin_client: httpx.AsyncClient, engine: Engine
) -> None:
    response = await admin_client.patch(
        f"{API}/params", json={"Warntime": "20", "Errtime": "40"}, headers=GOOD
    )
    assert response.status_code == 200
    assert engine.params.warntime == 20
    # The scheme is case-insensitive (RFC 7235).
    lower = {"Authorization": f"bearer {TOKEN}"}
    response = await admin_client.patch(f"{API}/params", json={"Debug": "1"}, headers=lower)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/params", None),
        ("POST", "/hbstates", json.dumps({"XNames": ["x1000c0s0b0n0"]}).encode()),
        ("GET", "/hbstate/x1000c0s0b0n0", None),
        ("GET", "/health", None),
        ("GET", "/metrics", None),
        ("HEAD", "/health", None),
    ],
)
async def test_reads_are_open_by_default_and_protected_on_request(
    admin_client: httpx.AsyncClient,
    reads_client: httpx.AsyncClient,
    method: str,
    path: str,
    body: bytes | None,
) -> None:
    open_answer = await admin_client.request(method, API + path, content=body)
    assert open_answer.status_code == 200
    refused = await reads_client.request(method, API + path, content=body)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    allowed = await reads_client.request(method, API + path, content=body, headers=GOOD)
    assert allowed.status_code == 200


async def test_metrics_at_prometheus_default_path_are_guarded_like_the_api_path(
    admin_client: httpx.AsyncClient, reads_client: httpx.AsyncClient
) -> None:
    # #15: /metrics as well as /hmi/v1/metrics, with the same content and the same guard.
    assert (await admin_client.get("/metrics")).status_code == 200
    assert (await reads_client.get("/metrics")).status_code == 401
    allowed = await reads_client.get("/metrics", headers=GOOD)
    assert allowed.status_code == 200
    assert "hbtd_detection_lateness_seconds" in allowed.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/heartbeat/x1000c0s0b0n0", 200),
        ("POST", "/heartbeat", 400),  # refused for its body, never for a token
        ("GET", "/liveness", 204),
        ("GET", "/readiness", 204),
        ("GET", "/openapi.json", 200),
        ("GET", "/nowhere", 404),
        ("DELETE", "/params", 405),
    ],
)
async def test_heartbeats_probes_and_errors_never_need_the_token(
    reads_client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await reads_client.request(method, API + path, content=HEARTBEAT)
    assert response.status_code == status


def test_the_token_never_shows_in_a_repr(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    auth = AdminAuth.from_file(token_file, protect_reads=True)
    assert auth.token == TOKEN.encode()  # the final newline is not part of it
    assert TOKEN not in repr(auth)


@pytest.mark.parametrize("content", ["", "\n", "two words", "a\tb"])
def test_unusable_tokens_are_refused(tmp_path: Path, content: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)
    with pytest.raises(ValueError, match="admin token"):
        AdminAuth.from_file(token_file)


def test_a_token_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o644)
    AdminAuth.from_file(token_file)
    assert "readable by other users" in caplog.text
    assert TOKEN not in caplog.text

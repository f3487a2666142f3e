"""The OpenAPI document (#8): served as JSON, in step with the routes and with docs/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import yaml

from hbtd_server import Engine, create_quart_app
from hbtd_server.core import DEFAULT_PARAMS
from hbtd_server.http._openapi import load_openapi
from hbtd_server.ops import Metrics
from tests import REPO

from .conftest import API

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def test_docs_copy_is_identical_to_the_shipped_document() -> None:
    # hbtd_server/openapi.yaml is the source of truth; docs/openapi.yaml is its copy.
    shipped = (REPO / "hbtd_server" / "openapi.yaml").read_bytes()
    assert (REPO / "docs" / "openapi.yaml").read_bytes() == shipped


async def test_served_as_json(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    text = (REPO / "hbtd_server" / "openapi.yaml").read_text()
    assert response.json() == yaml.safe_load(text)


def test_every_route_is_documented_and_nothing_else(engine: Engine) -> None:
    app = create_quart_app(engine, metrics=Metrics(engine, process=False))
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix(API)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                served.add((method.lower(), path))
    document = load_openapi()
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    assert documented == served


def _refs_resolve(node: Any, document: dict[str, Any]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: Any = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
        for value in node.values():
            _refs_resolve(value, document)
    elif isinstance(node, list):
        for value in node:
            _refs_resolve(value, document)


def test_document_is_sound() -> None:
    document = load_openapi()
    _refs_resolve(document, document)
    operation_ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operation_ids) == len(set(operation_ids))
    # Extensions are marked as such.
    paths = document["paths"]
    assert "x-hbtd-extension" in paths["/metrics"]["get"]
    assert "x-hbtd-extension" in paths["/openapi.json"]["get"]
    assert "x-hbtd-extension" in document["components"]["responses"]["Unauthorized"]
    health = document["components"]["schemas"]["health"]["properties"]
    for member in ("HsmDetail", "HsmPending", "SilenceGuard", "MsgBusDetail", "KvUnflushed"):
        assert "x-hbtd-extension" in health[member]
    assert "Shutdown" in document["components"]["schemas"]["HeartbeatStatus.1.0.0"]["description"]
    # Upstream's contract stays: the 12 parameters are required, all strings.
    params = document["components"]["schemas"]["params"]
    assert len(params["required"]) == 12
    assert all(p["type"] == "string" for p in params["properties"].values())


async def test_health_members_are_all_documented(client: httpx.AsyncClient) -> None:
    documented = load_openapi()["components"]["schemas"]["health"]["properties"]
    assert set((await client.get(f"{API}/health")).json()) <= set(documented)


def test_parameters_are_documented_as_served() -> None:
    schemas = load_openapi()["components"]["schemas"]
    served = list(DEFAULT_PARAMS.to_json())
    assert list(schemas["params"]["properties"]) == served
    assert list(schemas["params_patch"]["properties"]) == served
    assert schemas["params"]["required"] == served[:12]  # upstream's twelve, in its order

"""GET /hmi/v1/health, /liveness, /readiness (checklist items 34-36).

Deviations: ``/health`` answers ``application/json`` (upstream's ``text/plain`` is not copied);
the store is embedded, so readiness is 204 while the process answers at all.
"""

from __future__ import annotations

import dataclasses
import json
import re

import httpx
import pytest

from hbtd_server.engine import Engine
from tests import REPO
from tests.api.conftest import API

OPERATIONS_PAGE = REPO / "docs" / "operations.md"


@pytest.mark.parametrize("path", [pytest.param("liveness", id="liveness"),
                                  pytest.param("readiness", id="readiness")])  # fmt: skip
async def test_probes_are_204_with_no_body(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{API}/{path}")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


async def test_probes_answer_while_hsm_is_down(client: httpx.AsyncClient, engine: Engine) -> None:
    # Upstream serves nothing until HSM is ready (8.16); here liveness never depends on HSM.
    engine.books.readiness(False, "connection refused")
    assert (await client.get(f"{API}/liveness")).status_code == 204
    assert (await client.get(f"{API}/readiness")).status_code == 204


async def test_health_shape_and_content_type(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert list(document)[:3] == ["KvStore", "MsgBus", "HsmStatus"]
    assert document["HsmPending"] == 0  # extension members follow upstream's three
    assert document["KvStore"] == "Initialization key present: HBTD_OK"
    assert document["MsgBus"] in {
        "Not Connected",
        "Connected and OPEN",
        "Connected and CLOSED",
    }


@pytest.mark.parametrize(
    ("ready", "nosm", "expected"),
    [
        pytest.param(None, False, "Not initialized", id="not-polled-yet"),
        pytest.param(True, False, "Ready", id="ready"),
        pytest.param(False, False, "Not ready", id="not-ready"),
        pytest.param(True, True, "Not ready", id="nosm"),
    ],
)
async def test_health_hsm_status(
    client: httpx.AsyncClient, engine: Engine, ready: bool | None, nosm: bool, expected: str
) -> None:
    engine.books.readiness(ready, "HTTP 503")
    if nosm:
        engine.set_params(dataclasses.replace(engine.params, nosm=True))
    document = (await client.get(f"{API}/health")).json()
    assert document["HsmStatus"] == expected
    if expected == "Not ready":
        assert document["HsmDetail"] in {"HTTP 503", "HSM traffic disabled (Nosm)"}


async def test_the_operations_page_shows_every_health_member(client: httpx.AsyncClient) -> None:
    # #15: the example in docs/operations.md names every member /health has, in its order.
    page = OPERATIONS_PAGE.read_text()
    health_section = page[page.index("## Health") : page.index("## Metrics")]
    example = re.search(r"```json\n(.*?)```", health_section, flags=re.DOTALL)
    assert example is not None
    documented = json.loads(example.group(1))
    served = (await client.get(f"{API}/health")).json()
    assert list(documented) == list(served)

"""schemathesis against a real ``hbtd`` on loopback, over every operation of the document (#8).

The schema is the one the process serves at ``/hmi/v1/openapi.json``. Each operation gets a
bounded number of generated requests, valid and invalid; every answer must be no 5xx, and
must conform to the document: status code, content type, headers and body schema.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hb_sim.ports import free_port
from hbtd_server.cli import hbtd_command
from hbtd_server.http._openapi import load_openapi

from .conftest import STARTUP_LIMIT

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def hbtd_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real hbtd."""
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("schemathesis") / "hbtd.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *hbtd_command(port=port),
                "--nosm",
                "--use_telemetry",
                "0",
                "--log-format",
                "json",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/hmi/v1"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            try:
                if httpx.get(f"{base_url}/liveness", timeout=1).status_code == 204:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            returncode = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    log = log_path.read_text(errors="replace")
    assert returncode == 0, log
    assert "bug: unexpected error" not in log, log
    assert "Traceback" not in log, log
    # Whatever the fuzzing made it log, every line is one JSON object for the shipper.
    for line in log.splitlines():
        record = json.loads(line)
        assert {"timestamp", "level", "logger", "event", "message"} <= set(record), line


# The document the process serves (tests/api/test_openapi_api.py checks they are the same),
# loaded at collection so that each operation is a test of its own. (schemathesis's lazy
# ``from_fixture`` loader does not run under pytest 9: it reads a removed ``_nodeid``.)
schema = schemathesis.openapi.from_dict(load_openapi())


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,  # the same cases on every run: a failure here is never a fluke
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_the_contract(
    case: schemathesis.Case[Any], hbtd_base_url: str
) -> None:
    case.call_and_validate(base_url=hbtd_base_url, checks=CHECKS, timeout=10)

"""The store's flush metrics are real: an ``hbtd`` on a real etcd-server shows them in
``/metrics`` once it has written something through its write-behind, and not before."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from tests.etcd_support import EtcdServer

from .conftest import launch_hbtd, nodes

pytestmark = pytest.mark.integration

FLUSHES = re.compile(rb"^hbtd_store_flush_duration_seconds_count (\S+)$", re.MULTILINE)
ERRORS = re.compile(rb"^hbtd_store_flush_errors_total (\S+)$", re.MULTILINE)


async def test_flushes_to_etcd_appear_in_metrics(tmp_path: Path, etcd_server: EtcdServer) -> None:
    args = ("--kv_url", etcd_server.url, "--nosm", "--warntime", "60", "--errtime", "120")
    async with (
        launch_hbtd(tmp_path, free_port(), *args) as hbtd,
        httpx.AsyncClient(base_url=hbtd.url, timeout=5) as client,
    ):
        # Nothing heard, nothing to write: the flusher only checks the store's health.
        assert b"hbtd_store_flush" not in (await client.get("/metrics")).content
        for xname in nodes(5):
            beat = {"Status": "OK", "TimeStamp": "2026-12-05T18:00:00Z"}
            assert (await client.post(f"/heartbeat/{xname}", json=beat)).status_code == 200
        with trio.fail_after(30):  # a loaded machine: the flush comes within 0.25 s normally
            while not FLUSHES.search(metrics := (await client.get("/metrics")).content):  # noqa: ASYNC110
                await trio.sleep(0.1)  # polling another process: nothing here to wait on
        count = FLUSHES.search(metrics)
        errors = ERRORS.search(metrics)
        assert count is not None
        assert float(count.group(1)) >= 1
        assert errors is not None
        assert float(errors.group(1)) == 0
        assert b"# TYPE hbtd_store_flush_duration_seconds histogram" in metrics
        assert await hbtd.terminate() == 0

"""Debian's real Prometheus scrapes a real hbtd whose HSM is unreachable (#22).

It loads a copy of ``configs/prometheus/hbtd.rules.yml`` whose ``for:`` durations are cut to
seconds (the rules' logic is unit-tested in full with promtool), scrapes and evaluates every
second, and must see ``HbtdHsmUnreachable`` fire. Then every expression of the Grafana
dashboard is evaluated through Prometheus' query API: each must succeed, and every metric the
rules and the dashboard name must exist in what Prometheus scraped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import yaml

from hb_sim.ports import free_port
from tests import REPO
from tests.processes import kill

from .conftest import launch_hbtd

pytestmark = pytest.mark.integration

RULES = REPO / "configs" / "prometheus" / "hbtd.rules.yml"
DASHBOARD = REPO / "configs" / "grafana" / "hbtd.json"
METRIC_NAME = re.compile(r"\b(hbtd_[a-z_]+|process_[a-z_]+)\b")
DEADLINE = 120.0  # Prometheus and hbtd both starting on a loaded 2-core machine


def fast_rules(target: Path) -> None:
    """The rules with every ``for:`` cut to 2 s."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    target.write_text(yaml.safe_dump(rules))


def panel_queries() -> list[str]:
    """Every dashboard expression, with Grafana's variables as Grafana would fill them."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [
        target["expr"].replace("$__rate_interval", "1m").replace("$instance", ".*")
        for panel in panels
        for target in panel["targets"]
    ]


async def query(client: httpx.AsyncClient, expr: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/query", params={"query": expr})
    body: dict[str, Any] = answer.json()
    assert (answer.status_code, body["status"]) == (200, "success"), (expr, body)
    return body


async def test_a_rule_fires_and_every_panel_evaluates(tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is missing: run scripts/install-test-deps"
    hsm = f"http://127.0.0.1:{free_port()}/hsm/v2"  # nobody listens there
    async with launch_hbtd(tmp_path, free_port(), "--sm_url", hsm, "--interval", "1") as hbtd:
        fast_rules(tmp_path / "rules.yml")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [
                {"job_name": "hbtd", "static_configs": [{"targets": [f"127.0.0.1:{hbtd.port}"]}]}
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            process = await trio.lowlevel.open_process(
                [
                    prometheus,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                firing = await wait_for_alert(client, "HbtdHsmUnreachable", process, tmp_path)
                assert firing["labels"]["instance"] == f"127.0.0.1:{hbtd.port}"
                assert firing["labels"]["severity"] == "critical"
                names = (await client.get("/api/v1/label/__name__/values")).json()["data"]
                exprs = panel_queries()
                for expr in exprs:
                    await query(client, expr)
                rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
                named = {
                    n for e in [*exprs, *(r["expr"] for r in rules)] for n in METRIC_NAME.findall(e)
                }
                assert sorted(named - set(names)) == []
                # The leader panel shows this tracker: the query found it, not only parsed.
                leader = await query(client, 'hbtd_leader{instance=~".*"}')
                assert 'hbtd_leader{instance=~".*"}' in exprs
                assert [s["value"][1] for s in leader["data"]["result"]] == ["1"]
        finally:
            await kill(process)


async def wait_for_alert(
    client: httpx.AsyncClient, name: str, process: trio.Process, tmp_path: Path
) -> dict[str, Any]:
    """Poll the alerts API until ``name`` fires; fail with Prometheus' log at the deadline."""
    with trio.move_on_after(DEADLINE):
        while process.returncode is None:
            alerts = []
            try:
                answer = await client.get("/api/v1/alerts")
            except httpx.TransportError:
                pass
            else:
                # Until it is ready, Prometheus answers its API with a plain-text 503.
                if answer.status_code == 200:
                    alerts = answer.json()["data"]["alerts"]
            for alert in alerts:
                if alert["labels"]["alertname"] == name and alert["state"] == "firing":
                    found: dict[str, Any] = alert
                    return found
            await trio.sleep(0.5)
    log = (tmp_path / "prometheus.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"{name} did not fire within {DEADLINE} s:\n{log}")

"""The alert rules and the dashboard, checked offline: promtool's unit tests, and what ties the
rules, the runbook and the dashboard to the metrics that exist (#22). A real Prometheus runs
them against a real hbtd in ``tests/integration/test_prometheus_process.py``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import yaml

from tests import REPO

RULES = REPO / "configs" / "prometheus" / "hbtd.rules.yml"
RULE_TESTS = REPO / "configs" / "prometheus" / "hbtd.rules.test.yml"
DASHBOARD = REPO / "configs" / "grafana" / "hbtd.json"
OPERATIONS = REPO / "docs" / "operations.md"
METRICS_DOC = REPO / "docs" / "metrics.md"
#: Metric names in PromQL: ours, the process collector's, and Prometheus' own ``up``.
METRIC_NAME = re.compile(r"\b(hbtd_[a-z_]+|process_[a-z_]+|up)\b")
#: Suffixes Prometheus adds to a histogram's series.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def documented_metric(name: str) -> bool:
    doc = METRICS_DOC.read_text()
    for suffix in HISTOGRAM_SUFFIXES:
        name = name.removesuffix(suffix)
    return f"`{name}`" in doc or name.startswith("process_") or name == "up"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert shutil.which("promtool"), "promtool is missing: run scripts/install-test-deps"
    return subprocess.run(
        ["promtool", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=RULES.parent,
    )


def test_the_rules_are_valid_and_pass_their_unit_tests() -> None:
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in checked.stdout
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_fires_in_a_unit_test_and_stays_quiet_in_another() -> None:
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    for rule in alerts():
        name = rule["alert"]
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case["exp_alerts"] for case in mine), f"{name} never fires in a test"
        assert any(not case["exp_alerts"] for case in mine), f"{name} is never quiet in a test"


def test_every_alert_has_a_runbook_entry() -> None:
    doc = OPERATIONS.read_text()
    assert "\n## Alerts\n" in doc
    section = doc.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    for rule in alerts():
        name = rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/operations.md#alerts: {name}"
        assert re.search(rf"^- \*\*`{name}`\*\* ", section, re.M), f"no runbook line for {name}"
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_rules_and_panels_name_only_metrics_that_exist() -> None:
    exprs = [rule["expr"] for rule in alerts()] + dashboard_exprs()
    named = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    assert "hbtd_leader" in named
    assert [name for name in sorted(named) if not documented_metric(name)] == []


def test_the_dashboard_is_a_grafana_dashboard_on_a_chosen_prometheus() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "hbtd"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 12
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "instance"}
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]

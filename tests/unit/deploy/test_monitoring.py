"""The alerting rules (promtool's unit tests) and the dashboard (generated, its queries PromQL)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.monitoring import dashboard_expressions
from vidsafe.cli.dashboard import GRAFANA_FILE
from vidsafe.dashboard import PANELS, grafana_json
from vidsafe.deploy.services import ALERT_RULES

PROMETHEUS_DIR = ALERT_RULES.parent


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: `vidsafe setup --prometheus` (make test) installs Debian's prometheus")
    return found


def test_the_alerting_rules_pass_their_unit_tests() -> None:
    checked = subprocess.run([_promtool(), "check", "rules", str(ALERT_RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([_promtool(), "test", "rules", "alerts.test.yml"], capture_output=True, text=True,
                            cwd=PROMETHEUS_DIR)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    alerts = set(re.findall(r"alert: (\w+)", ALERT_RULES.read_text()))
    assert alerts == set(re.findall(r"alertname: (\w+)", (PROMETHEUS_DIR / "alerts.test.yml").read_text())), \
        "every alert has a unit test"


def test_the_grafana_dashboard_is_the_generated_one_and_its_queries_are_promql(tmp_path: Path) -> None:
    assert GRAFANA_FILE.read_text() == grafana_json(), "run `vidsafe dashboard -o deploy/grafana/vidsafe.json`"
    dashboard = json.loads(GRAFANA_FILE.read_text())
    assert [p["title"] for p in dashboard["panels"]] == [p.title for p in PANELS]
    assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in dashboard["panels"] for t in p["targets"])
    # promtool parses every query (as a recording rule); $team is Grafana's variable.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{n}", "expr": expr.replace("$team", ".*")}
        for n, expr in enumerate(dashboard_expressions())]}]}
    (tmp_path / "queries.yml").write_text(json.dumps(rules))
    checked = subprocess.run([_promtool(), "check", "rules", str(tmp_path / "queries.yml")], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

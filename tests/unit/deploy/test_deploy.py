"""deploy/ holds together: the dashboards and rules query metrics the worker exports, and
Prometheus's and Alertmanager's own tools accept the configuration and pass the rules' tests.

The tool tests need promtool and amtool (`apt-get install prometheus prometheus-alertmanager`).
Without them they fail when CI is set, and skip elsewhere with a message saying what to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.outputs.metrics import create
from tests.integration.prometheus import GRAFANA_DEFAULTS, dashboard_expressions
from tests.paths import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTMANAGER = ROOT / "deploy" / "alertmanager"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
RECEIVERS = {"critical": "aidmon-oncall", "warning": "aidmon-operators"}

# the series each metric type exposes (prometheus-client, text format 0.0.4)
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",)}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
                "unless", "inf", "nan"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _yaml(PROMETHEUS / "rules.yml")["groups"] for rule in group["rules"]]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's panels, those of collapsed rows included, rows themselves excluded."""
    found = []
    for panel in dashboard["panels"]:
        found.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return found


def exported_metrics() -> set[str]:
    """Every series name the worker's metrics bundle exposes."""
    registry = CollectorRegistry()
    create(registry)
    return {family.name + suffix for family in registry.collect() for suffix in SUFFIXES[family.type]}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, keywords, labels or durations)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # label matchers, ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w:.])[A-Za-z_:][\w:]*", expr):
        if match.group() not in PROMQL_WORDS and not expr[match.end():].lstrip().startswith("("):
            names.add(match.group())
    return names


def known_metrics() -> set[str]:
    return exported_metrics() | {"up"} | {rule["record"] for rule in _rules() if "record" in rule}


def tool(name: str, package: str) -> str:
    """The tool's path; missing, a failure under CI and a skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: apt-get install {package}"
        if "CI" in os.environ:
            pytest.fail(f"{message} (CI runs these checks)", pytrace=False)
        pytest.skip(f"{message} (under CI this fails)")
    return path


def run(*command: str) -> str:
    """The command's standard output; it must succeed."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result.stdout


# --- metric names ---

def test_the_metric_name_reader_finds_names_only() -> None:
    """The reader the checks below use skips functions, keywords, label lists, strings and durations."""
    expr = ('histogram_quantile(0.9, sum by (le) (rate(aidmon_x_bucket{code=~"5.."}[5m])))'
            ' / on(instance) group_left up offset 5m and (time() - aidmon_y_created < 1e3) > bool 0')
    assert metric_names(expr) == {"aidmon_x_bucket", "up", "aidmon_y_created"}


def test_the_worker_exports_the_documented_metrics() -> None:
    """The metrics bundle is the one the dashboards and rules were written against."""
    assert {"aidmon_events_total", "aidmon_rejects_total", "aidmon_alerts_total", "aidmon_alerts_created",
            "aidmon_event_to_alert_seconds_bucket", "aidmon_webhook_deliveries_total",
            "aidmon_webhook_deliveries_created", "aidmon_webhook_delivery_seconds_bucket",
            "aidmon_webhook_pending", "aidmon_consumer_lag_messages", "aidmon_table_entries",
            "aidmon_http_requests_total", "aidmon_sse_clients", "aidmon_ready",
            "aidmon_read_ahead_paused_partitions"} <= exported_metrics()


def test_rules_read_only_exported_or_recorded_metrics() -> None:
    """Every rule reads metrics the worker exports, `up`, or a series recorded in rules.yml."""
    known = known_metrics()
    for rule in _rules():
        assert metric_names(rule["expr"]) <= known, rule.get("alert") or rule.get("record")


def test_dashboards_read_only_exported_or_recorded_metrics() -> None:
    """Every dashboard query reads metrics the worker exports, `up`, or a series recorded in rules.yml."""
    known = known_metrics()
    expressions = dashboard_expressions()
    assert expressions
    for title, expr in expressions:
        assert metric_names(expr), title
        assert metric_names(expr) <= known, f"{title}: {metric_names(expr) - known}"


def test_every_exported_metric_is_on_a_dashboard() -> None:
    """What the worker measures, an operator can see: each metric family it exports is read by
    some panel, through any of its series."""
    registry = CollectorRegistry()
    create(registry)
    read = set().union(*(metric_names(expr) for _, expr in dashboard_expressions()))
    missing = {family.name for family in registry.collect()
               if not any(family.name + suffix in read for suffix in SUFFIXES[family.type])}
    assert not missing, f"exported, on no dashboard panel: {sorted(missing)}"


# --- alerting rules ---

def test_every_alert_tells_the_operator_what_to_do() -> None:
    """Each alert has a severity Alertmanager routes, a summary and a description."""
    for alert in _alerts():
        assert alert["labels"]["severity"] in RECEIVERS, alert["alert"]
        assert alert["annotations"]["summary"] and len(alert["annotations"]["description"]) > 80, alert["alert"]


def test_every_alert_has_a_firing_and_a_quiet_test() -> None:
    """rules_test.yml has, for each alert, a case where it fires and one where it does not."""
    cases = [case for test in _yaml(PROMETHEUS / "rules_test.yml")["tests"] for case in test["alert_rule_test"]]
    for alert in _alerts():
        mine = [case for case in cases if case["alertname"] == alert["alert"]]
        assert any(case.get("exp_alerts") for case in mine), f"{alert['alert']} never fires in a test"
        assert any(not case.get("exp_alerts") for case in mine), f"{alert['alert']} is never quiet in a test"


def test_deploy_readme_lists_every_alert() -> None:
    """deploy/README.md's table names each alert of rules.yml."""
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    for alert in _alerts():
        assert f"| `{alert['alert']}` |" in readme, alert["alert"]


# --- dashboards ---

def test_the_datasource_is_the_one_the_dashboards_pick() -> None:
    """Grafana provisions one Prometheus datasource, the default: the one the dashboards'
    `datasource` variable selects when nothing else is chosen."""
    [datasource] = _yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert (datasource["uid"], datasource["type"], datasource["isDefault"]) == ("prometheus", "prometheus", True)


def test_there_is_a_dashboard() -> None:
    """deploy/grafana/dashboards/ holds the overview."""
    assert GRAFANA / "dashboards" / "aidmon-overview.json" in DASHBOARD_FILES


def _datasources(node: Any) -> list[Any]:
    """Every `datasource` a dashboard names: of panels, rows, targets, annotations, variables."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "datasource"] + [
            found for k, v in node.items() if k != "datasource" for found in _datasources(v)]
    if isinstance(node, list):
        return [found for v in node for found in _datasources(v)]
    return []


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    """Valid JSON, schema 39, the template variables the linter asks for (the datasource,
    below; `job` and `instance`, test_dashboard_lint.py), unique panel ids."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"]
    assert dashboard["schemaVersion"] == 39
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource", "job", "instance"]
    top = dashboard["panels"]
    ids = [panel["id"] for panel in top] + [inner["id"] for panel in top for inner in panel.get("panels", [])]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_the_datasource_is_a_variable(path: Path) -> None:
    """The dashboard picks its Prometheus through a `datasource` variable (type datasource,
    query prometheus: any Prometheus datasource, the default first), so it imports into a
    Grafana whose datasource has another uid; no panel, target or annotation names a fixed uid."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == "datasource"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    assert variable.get("current", {}).get("value") is None  # a fixed uid there too would tie it
    named = _datasources({k: v for k, v in dashboard.items() if k != "templating"})
    assert len(named) > len(_panels(dashboard))  # panels and their targets
    assert all(d == {"type": "prometheus", "uid": "${datasource}"} for d in named), named


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_every_panel_queries_prometheus(path: Path) -> None:
    """Each panel is a time series or a stat on the `datasource` variable, with at least one
    query, each non-empty and using no Grafana variable but `$job`, `$instance` and
    `$__rate_interval` (which the Prometheus tests replace by Grafana's defaults)."""
    for panel in _panels(json.loads(path.read_text(encoding="utf-8"))):
        title = panel["title"]
        assert panel["type"] in {"timeseries", "stat"}, title
        assert panel["datasource"]["uid"] == "${datasource}", title
        assert panel["targets"], title
        for target in panel["targets"]:
            assert target["expr"].strip(), title
            assert set(re.findall(r"\$\w+", target["expr"])) <= set(GRAFANA_DEFAULTS), title
            assert target.get("datasource", panel["datasource"])["uid"] == "${datasource}", title


# --- Prometheus's and Alertmanager's own tools ---

def test_promtool_accepts_the_configuration() -> None:
    """`promtool check config` (which also checks the rule files it names)."""
    output = run(tool("promtool", "prometheus"), "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert "SUCCESS: 1 rule files found" in output


def test_promtool_accepts_the_rules() -> None:
    """`promtool check rules`."""
    run(tool("promtool", "prometheus"), "check", "rules", str(PROMETHEUS / "rules.yml"))


def test_the_rules_pass_their_unit_tests() -> None:
    """`promtool test rules rules_test.yml`: each alert fires where it should and only there."""
    run(tool("promtool", "prometheus"), "test", "rules", str(PROMETHEUS / "rules_test.yml"))


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every dashboard query (checked as the expressions of recording rules)."""
    rules = [{"record": f"dashboard_query_{i}", "expr": expr} for i, (_, expr) in enumerate(dashboard_expressions())]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    run(tool("promtool", "prometheus"), "check", "rules", str(path))


def test_amtool_accepts_the_alertmanager_configuration() -> None:
    """`amtool check-config`."""
    run(tool("amtool", "prometheus-alertmanager"), "check-config", str(ALERTMANAGER / "alertmanager.yml"))


@pytest.mark.parametrize("severity", sorted(RECEIVERS))
def test_alertmanager_routes_by_severity(severity: str) -> None:
    """Critical alerts reach the on-call receiver, warnings the operators'."""
    output = run(tool("amtool", "prometheus-alertmanager"), "config", "routes", "test",
                 f"--config.file={ALERTMANAGER / 'alertmanager.yml'}", f"severity={severity}", "alertname=AidmonTest")
    assert output.split() == [RECEIVERS[severity]]


@pytest.mark.parametrize(("service", "binary", "package"), [("prometheus", "promtool", "prometheus"),
                                                            ("alertmanager", "amtool", "prometheus-alertmanager")])
def test_compose_runs_the_version_the_tools_check(service: str, binary: str, package: str) -> None:
    """docker-compose.yml's image is the release whose tools checked the configuration here."""
    output = run(tool(binary, package), "--version")
    version = re.search(r"version (\d+\.\d+\.\d+)", output)
    compose = _yaml(ROOT / "docker-compose.yml")
    assert version is not None and compose["services"][service]["image"] == f"prom/{service}:v{version.group(1)}"

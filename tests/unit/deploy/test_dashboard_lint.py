"""The dashboards pass the rules of Grafana's dashboard linter in strict mode.

`dashboard-linter` itself is a Go module this project's machines cannot fetch, so CI cannot
install it; tests/unit/deploy/dashboard_lint.py applies its rules (each finding names the
linter's rule) and honours deploy/grafana/dashboards/.lint, the linter's exclusion file.
The second half checks that those rules do catch what the linter reports.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ROOT
from tests.unit.deploy.dashboard_lint import Finding, excluded, exclusions, lint, selectors

DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))
OVERVIEW = DASHBOARDS / "aidmon-overview.json"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _reported(dashboard: dict[str, Any]) -> list[Finding]:
    """What the strict linter reports: every finding (warnings fail too) that .lint does not exclude."""
    configuration = exclusions(DASHBOARDS)
    return [finding for finding in lint(dashboard) if not excluded(finding, configuration)]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_dashboard_passes_the_linter_in_strict_mode(path: Path) -> None:
    """No rule of `dashboard-linter lint --strict` reports anything the .lint file does not exclude."""
    assert _reported(_load(path)) == []


def test_every_exclusion_has_a_reason_and_is_needed() -> None:
    """Each rule .lint excludes says why, names its panels, and still fires there without the
    exclusion (so that exclusions do not outlive their cause)."""
    configuration = exclusions(DASHBOARDS)
    findings = [finding for path in DASHBOARD_FILES for finding in lint(_load(path))]
    for rule, excluding in (configuration.get("exclusions") or {}).items():
        assert len(excluding["reason"]) > 40, rule
        assert excluding["entries"], f"{rule} is excluded everywhere: name the panels"
        for entry in excluding["entries"]:
            assert any(f.rule == rule and f.dashboard == entry["dashboard"] and f.panel == entry["panel"]
                       for f in findings), f"{rule} does not fire on {entry}: drop the exclusion"
    assert not configuration.get("warnings"), "a warning fails under --strict: exclude with a reason instead"


def test_the_defaults_pick_the_provisioned_prometheus_and_the_aidmon_jobs() -> None:
    """The datasource variable has no fixed value (Grafana's default Prometheus, the provisioned
    one); `job` lists the jobs exporting aidmon metrics without an All option (All would put
    every target of a shared Prometheus in the `up` panel); `instance` defaults to All."""
    variables = {v["name"]: v for v in _load(OVERVIEW)["templating"]["list"]}
    assert variables["datasource"].get("current", {}).get("value") is None
    job, instance = variables["job"], variables["instance"]
    assert job["query"] == "label_values(aidmon_ready, job)" and not job["includeAll"]
    assert instance["query"] == 'label_values(aidmon_ready{job=~"$job"}, instance)' and instance["includeAll"]
    assert all(not v.get("current") for v in (job, instance))  # Grafana picks the first option: the job, All


# --- the rules catch what the linter reports ---

def _panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    [panel] = [p for p in dashboard["panels"] if p.get("title") == title]
    return panel


def _first_target(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    target: dict[str, Any] = _panel(dashboard, title)["targets"][0]
    return target


def _variable(dashboard: dict[str, Any], name: str) -> dict[str, Any]:
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == name]
    return variable


def _set_expr(title: str, expr: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: _first_target(d, title).update(expr=expr)


BREAKAGES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("a fixed rate window", _set_expr(
        "Events by type (per second)",
        'sum by (type) (rate(aidmon_events_total{job=~"$job",instance=~"$instance"}[5m]))'),
     "target-rate-interval-rule"),
    ("no instance matcher", _set_expr("Ready", 'aidmon_ready{job=~"$job"}'), "target-instance-rule"),
    ("a fixed job", _set_expr("Ready", 'aidmon_ready{job="aidmon-worker",instance=~"$instance"}'),
     "target-job-rule"),
    ("a recording rule without the labels",
     _set_expr("Consumer lag by topic", "topic:aidmon_consumer_lag_messages:sum"), "target-job-rule"),
    ("a bare counter", _set_expr("Webhook pending", 'aidmon_http_requests_total{job=~"$job",instance=~"$instance"}'),
     "target-counter-agg-rule"),
    ("unbalanced PromQL", _set_expr("Ready", 'sum(aidmon_ready{job=~"$job",instance=~"$instance"}'),
     "target-promql-rule"),
    ("the old datasource label", lambda d: _variable(d, "datasource").update(label="Prometheus"),
     "template-datasource-rule"),
    ("a datasource variable named otherwise", lambda d: _variable(d, "datasource").update(name="ds"),
     "template-datasource-rule"),
    ("a single-select job", lambda d: _variable(d, "job").update(multi=False), "template-job-rule"),
    ("no allValue", lambda d: _variable(d, "instance").pop("allValue"), "template-instance-rule"),
    ("no job variable", lambda d: d["templating"]["list"].remove(_variable(d, "job")), "template-job-rule"),
    ("refresh on load only", lambda d: _variable(d, "instance").update(refresh=1), "template-on-time-change-reload"),
    ("a variable query that is not a label function",
     lambda d: _variable(d, "job").update(query="up"), "template-label-promql-rule"),
    ("a fixed panel datasource", lambda d: _panel(d, "Table entries").update(datasource={"uid": "prometheus"}),
     "panel-datasource-rule"),
    ("no description", lambda d: d["panels"][1].pop("description"), "panel-title-description-rule"),
    ("no unit", lambda d: d["panels"][1]["fieldConfig"]["defaults"].pop("unit"), "panel-units-rule"),
    ("an editable dashboard", lambda d: d.update(editable=True), "uneditable-dashboard-rule"),
]


@pytest.mark.parametrize(("breakage", "rule"), [(b, r) for b, _, r in BREAKAGES], ids=[b for b, _, _ in BREAKAGES])
def test_a_broken_dashboard_fails_the_rule(breakage: str, rule: str) -> None:
    """Each way of breaking the overview that the linter reports is reported here, by that rule."""
    [change] = [c for b, c, _ in BREAKAGES if b == breakage]
    dashboard = copy.deepcopy(_load(OVERVIEW))
    change(dashboard)
    assert rule in {finding.rule for finding in _reported(dashboard)}


@pytest.mark.parametrize(("expr", "names", "ranges"), [
    ('sum by (le) (rate(a_bucket{job=~"$job"}[$__rate_interval]))', ["a_bucket"], ["$__rate_interval"]),
    ("sum((a_total and (time() - a_created < 86400)) or increase(a_total[24h]))",
     ["a_total", "a_created", "a_total"], [None, None, "24h"]),
    ('x:y:z / on (topic) group_left () b{code=~"5.."} > 0', ["x:y:z", "b"], [None, None]),
])
def test_the_scanner_finds_every_selector(expr: str, names: list[str], ranges: list[str | None]) -> None:
    """The PromQL scanner finds each selector with its range, and no function, keyword or label list."""
    found = selectors(expr)
    assert [s.name for s in found] == names and [s.range for s in found] == ranges

"""The rules of Grafana's dashboard linter (github.com/grafana/dashboard-linter), as its
`lint --strict` applies them to a Prometheus dashboard, read from its rule sources.

The linter itself cannot be installed here (its Go module is not served to this project's
machines), so the tests apply its rules with this module: each `Finding` names the linter's
rule, and `.lint` beside the dashboards (the linter's own exclusion file) is honoured the way
the linter reads it. Under `--strict` a warning fails like an error, so every finding counts.

PromQL is read by a small scanner (`selectors`), enough for the dashboards' queries: it
finds each series selector with its matchers, its range and the calls it sits in; promtool
checks the same queries' syntax in test_deploy.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# panels whose queries the linter reads (rule_target_promql.go: panelHasQueries), and those
# whose title, description, units and targets it checks (constants.go)
QUERY_PANELS = {"singlestat", "graph", "table", "stat", "state-timeline", "timeseries"}
VALUE_PANELS = {"stat", "singlestat", "graph", "table", "timeseries", "gauge"}
# a subset of rule_panel_units.go's list: the units a dashboard of counts, shares and durations uses
UNITS = {"none", "short", "percent", "percentunit", "s", "ms", "µs", "ns", "m", "h", "d", "bytes", "decbytes",
         "cps", "ops", "reqps", "rps", "wps", "bool"}
LABEL_FUNCTIONS = re.compile(r"(?s)^(?:label_values\((.+),.+\)|metrics\((.+)\)|query_result\((.+)\))$")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_:][\w:]*|\{|\}|\[|\]|\(|\)|[^\s"A-Za-z_:{}\[\]()]+')


@dataclass(frozen=True)
class Selector:
    """One series selector of a query: `name{matchers}[range]` inside `calls` (outermost first;
    None for a paren that is not a call)."""

    name: str
    matchers: tuple[tuple[str, str, str], ...]
    range: str | None
    calls: tuple[str | None, ...]


@dataclass(frozen=True)
class Finding:
    rule: str
    dashboard: str
    panel: str | None
    message: str


def selectors(expr: str) -> list[Selector]:
    """Every series selector of a PromQL expression; raises ValueError on one it cannot read."""
    tokens = TOKEN.findall(expr)
    found: list[Selector] = []
    stack: list[str | None] = []  # the call each open paren belongs to
    aggregation: str | None = None  # `sum by (...) (`: the call its next paren opens
    i = 0
    while i < len(tokens):
        lexeme = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if lexeme == "(":
            stack.append(aggregation)
            aggregation = None
        elif re.fullmatch(r"[A-Za-z_]\w*", lexeme) and following in {"by", "without"}:
            aggregation = lexeme
        elif lexeme == ")":
            if not stack:
                raise ValueError(f"unbalanced ')' in {expr!r}")
            stack.pop()
        elif lexeme in {"by", "without", "on", "ignoring", "group_left", "group_right"} and following == "(":
            i = tokens.index(")", i) + 1  # a list of label names
            continue
        elif re.fullmatch(r"[A-Za-z_:][\w:]*", lexeme) and lexeme not in KEYWORDS and following == "(":
            stack.append(lexeme)
            i += 2
            continue
        elif re.fullmatch(r"[A-Za-z_:][\w:]*", lexeme) and lexeme not in KEYWORDS:
            i, selector = _selector(tokens, i, tuple(stack), expr)
            found.append(selector)
            continue
        elif lexeme in {"{", "}", "[", "]"}:
            raise ValueError(f"{lexeme!r} outside a selector in {expr!r}")
        i += 1
    if stack:
        raise ValueError(f"unbalanced '(' in {expr!r}")
    return found


def _selector(tokens: list[str], i: int, calls: tuple[str | None, ...], expr: str) -> tuple[int, Selector]:
    name, i = tokens[i], i + 1
    matchers: list[tuple[str, str, str]] = []
    if i < len(tokens) and tokens[i] == "{":
        end = tokens.index("}", i)
        body = "".join(tokens[i + 1:end])
        for part in re.findall(r'([A-Za-z_]\w*)(=~|!~|!=|=)("(?:[^"\\]|\\.)*"),?', body):
            matchers.append((part[0], part[1], part[2][1:-1]))
        if sum(len(m[0]) + len(m[1]) + len(m[2]) + 2 for m in matchers) + max(len(matchers) - 1, 0) != len(body):
            raise ValueError(f"cannot read the matchers {body!r} in {expr!r}")
        i = end + 1
    selected_range = None
    if i < len(tokens) and tokens[i] == "[":
        end = tokens.index("]", i)
        selected_range, i = "".join(tokens[i + 1:end]), end + 1
    return i, Selector(name, tuple(matchers), selected_range, calls)


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows and the panels of collapsed rows included (the linter's GetPanels)."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(_panels(panel))
    return found


def _uid(datasource: Any) -> str:
    return str(datasource.get("uid", "")) if isinstance(datasource, dict) else str(datasource or "")


def lint(dashboard: dict[str, Any]) -> list[Finding]:
    """What `dashboard-linter lint --strict` reports for the dashboard, before exclusions."""
    title = dashboard.get("title", "")
    findings: list[Finding] = []

    def report(rule: str, message: str, panel: str | None = None) -> None:
        findings.append(Finding(rule, title, panel, message))

    variables = dashboard.get("templating", {}).get("list", [])
    sources = [v for v in variables if v.get("type") == "datasource"]
    if not sources:
        report("template-datasource-rule", "no templated data source")
    for source in sources:
        query = str(source.get("query", ""))
        names = {f"{query.lower()}_datasource"} | ({"datasource"} if len(sources) == 1 else set())
        labels = {f"{query.title()} data source"} | ({"Data source"} if len(sources) == 1 else set())
        if source.get("name") not in names:
            report("template-datasource-rule", f"data source variable named {source.get('name')!r}, not {names}")
        elif source.get("label") not in labels:
            report("template-datasource-rule", f"data source variable labeled {source.get('label')!r}, not {labels}")
    prometheus = bool(sources) and sources[0].get("query") == "prometheus"

    by_name = {v.get("name"): v for v in variables}
    for name in ("job", "instance") if prometheus else ():
        rule, variable = f"template-{name}-rule", by_name.get(name)
        if variable is None:
            report(rule, f"is missing the {name} template")
            continue
        if _uid(variable.get("datasource")) not in {"$datasource", "${datasource}"}:
            report(rule, f"{name} template should use datasource '$datasource'")
        if variable.get("type") != "query":
            report(rule, f"{name} template should be a Prometheus query")
        if variable.get("label") != name.title():
            report(rule, f"{name} template should be labeled {name.title()!r}")
        if not variable.get("multi"):
            report(rule, f"{name} template should be a multi select")
        if variable.get("allValue") != ".+":
            report(rule, f"{name} template allValue should be '.+'")
    for variable in variables:
        if variable.get("type") != "query":
            continue
        if variable.get("refresh") != 2:
            report("template-on-time-change-reload", f"{variable.get('name')} should refresh on time range change (2)")
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else str(query)
        match = LABEL_FUNCTIONS.match(query)
        if prometheus and not (match and _reads(next(g for g in match.groups() if g))):
            report("template-label-promql-rule", f"{variable.get('name')}: invalid templated label {query!r}")
    if dashboard.get("editable"):
        report("uneditable-dashboard-rule", "is editable, it should be set to 'editable: false'")

    sources_uids = {form.format(s.get("name")) for s in sources for form in ("${}", "${{{}}}")}
    for panel in _panels(dashboard):
        kind, name = panel.get("type"), panel.get("title", "")
        if kind in {"singlestat", "graph", "table", "timeseries"} and _uid(panel.get("datasource")) not in sources_uids:
            report("panel-datasource-rule", f"does not use a templated datasource: {panel.get('datasource')}", name)
        if kind in VALUE_PANELS:
            if not name or not panel.get("description"):
                report("panel-title-description-rule", "has a missing title or description", name)
            if panel.get("fieldConfig", {}).get("defaults", {}).get("unit") not in UNITS:
                report("panel-units-rule", "has no or invalid units defined", name)
            if not panel.get("targets"):
                report("panel-no-targets-rule", "has no targets", name)
        if not prometheus or kind not in QUERY_PANELS:
            continue
        for index, target in enumerate(panel.get("targets", [])):
            findings.extend(Finding(rule, title, name, f"target {index}: {message}")
                            for rule, message in _target(str(target.get("expr", ""))))
    return findings


def _reads(expr: str) -> bool:
    try:
        return bool(selectors(expr))
    except ValueError:
        return False


def _target(expr: str) -> list[tuple[str, str]]:
    """(rule, message) for one Prometheus query."""
    try:
        found = selectors(expr)
    except ValueError as error:
        return [("target-promql-rule", str(error))]
    problems: list[tuple[str, str]] = []
    for selector in found:
        matchers = set(selector.matchers)
        for label in ("job", "instance"):
            if (label, "=~", f"${label}") not in matchers:
                problems.append((f"target-{label}-rule", f"{selector.name}: no {label}=~\"${label}\" matcher"))
        parent = selector.calls[-1] if selector.calls else None
        if selector.range is not None and parent in {"rate", "irate"} and selector.range != "$__rate_interval":
            problems.append(("target-rate-interval-rule", f"{parent}({selector.name}[{selector.range}]): "
                             "should use $__rate_interval"))
        if selector.name.endswith("_total") and (selector.range is None or parent not in {"rate", "irate", "increase"}):
            problems.append(("target-counter-agg-rule", f"counter {selector.name} is not aggregated with rate, "
                             "irate, or increase"))
        if "_bucket" in selector.name and "histogram_quantile" not in selector.calls:
            problems.append(("target-histogram-rule", f"{selector.name} is not in histogram_quantile"))
    return problems


def exclusions(folder: Path) -> dict[str, Any]:
    """The linter's `.lint` file of a folder of dashboards (empty if there is none)."""
    path = folder / ".lint"
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return loaded or {}


def excluded(finding: Finding, configuration: dict[str, Any]) -> bool:
    """Whether `.lint` excludes the finding (configuration.go: a rule with no entries is
    excluded everywhere; an entry matches on the dashboard's and panel's titles)."""
    rules = configuration.get("exclusions") or {}
    if finding.rule not in rules:
        return False
    entries = (rules[finding.rule] or {}).get("entries") or []
    return not entries or any(entry.get("dashboard") == finding.dashboard
                              and (finding.panel is None or entry.get("panel") == finding.panel)
                              for entry in entries)

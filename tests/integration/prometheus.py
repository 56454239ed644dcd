"""A real Prometheus for the integration tests, and the queries of the Grafana dashboards.

`start_prometheus` runs the `prometheus` binary (Debian's package: `apt-get install
prometheus`) on a free loopback port in a work directory, scraping the given targets as
job `aidmon-worker` with deploy/prometheus/rules.yml loaded, and stops it at the end.
`query` runs PromQL through its HTTP API and raises on an invalid expression;
`dashboard_expressions` lists every query of the dashboards so a test can run them all, with
the Grafana variables they use replaced by what Grafana puts there by default.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.integration.live import free_port
from tests.paths import ROOT

RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
JOB = "aidmon-worker"
# What Grafana puts in place of the dashboards' variables when nothing else is chosen: the
# first job that exports aidmon metrics, every instance (the `instance` variable's All), and a
# $__rate_interval of four scrape intervals (the provisioned datasource's 15 s).
GRAFANA_DEFAULTS = {"$__rate_interval": "1m", "$job": JOB, "$instance": ".+"}


class PrometheusError(Exception):
    """Prometheus did not start, did not scrape, or refused a query; the message says why."""


def write_config(path: Path, targets: list[str], scrape_interval: str) -> None:
    """A configuration scraping `targets` at /metrics as job `aidmon-worker`, with our rules."""
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": JOB, "metrics_path": "/metrics", "static_configs": [{"targets": targets}]}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@contextmanager
def start_prometheus(
    workdir: Path, targets: list[str], scrape_interval: str = "1s", ready_timeout: float = 30.0
) -> Iterator[str]:
    """Prometheus scraping `targets` ("HOST:PORT") while the block runs; its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise PrometheusError("the prometheus binary is not on PATH: install it (apt-get install prometheus)")
    workdir.mkdir(parents=True, exist_ok=True)
    config, log_path = workdir / "prometheus.yml", workdir / "prometheus.log"
    write_config(config, targets, scrape_interval)
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log_path, ready_timeout)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PrometheusError(f"prometheus exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/-/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise PrometheusError(f"prometheus was not ready after {timeout:.0f} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def query(base_url: str, expr: str) -> list[Any]:
    """The result of an instant query (a list of series for a vector); raises if Prometheus refuses it."""
    response = httpx.get(f"{base_url}/api/v1/query", params={"query": expr}, timeout=10.0)
    try:
        body = response.json()
    except ValueError:
        raise PrometheusError(f"{expr!r}: HTTP {response.status_code}, not JSON: {response.text[:200]}") from None
    if body.get("status") != "success":
        raise PrometheusError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
    result: list[Any] = body["data"]["result"]
    return result


def wait_for_scrape(base_url: str, timeout: float = 30.0) -> None:
    """Return once every target of job `aidmon-worker` has been scraped successfully."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        series = query(base_url, f'up{{job="{JOB}"}}')
        if series and all(s["value"][1] == "1" for s in series):
            return
        time.sleep(0.2)
    targets = httpx.get(f"{base_url}/api/v1/targets", timeout=10.0).json()["data"]["activeTargets"]
    errors = [f"{t['scrapeUrl']}: {t['health']} {t['lastError']}" for t in targets]
    raise PrometheusError(f"job {JOB} not scraped after {timeout:.0f} s: {errors}")


def dashboard_expressions(expand: bool = True) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of every dashboard in deploy/grafana/dashboards/,
    its Grafana variables replaced by their defaults (`expand=False`: as written)."""
    found: list[tuple[str, str]] = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in _panels(json.loads(path.read_text(encoding="utf-8"))["panels"]):
            found.extend((panel["title"], expand_variables(target["expr"]) if expand else target["expr"])
                         for target in panel.get("targets", []) if "expr" in target)
    return found


def expand_variables(expr: str) -> str:
    """The query as Grafana sends it with the default selection; raises on a variable it does not know."""
    expanded = re.sub(r"\$\w+", lambda match: GRAFANA_DEFAULTS.get(match.group(), match.group()), expr)
    if "$" in expanded:
        raise ValueError(f"{expr!r} uses a variable other than {sorted(GRAFANA_DEFAULTS)}")
    return expanded


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside a collapsed row."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))

"""What monitors and operators get from a worker that processed the shared sample: signed
webhooks that survive a receiver being down, Prometheus metrics every dashboard query can
use, and an API that a fuzzer of its OpenAPI document cannot make fail."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.kafka.topics import WEBHOOK_DEAD_LETTERS
from tests.integration.prometheus import dashboard_expressions, query, start_prometheus, wait_for_scrape
from tests.integration.stack import Stack, metric_value
from tests.integration.test_api import dispatch, read_topic

pytestmark = pytest.mark.kafka


def test_webhooks_land_signed_once_the_receiver_is_back(stack: Stack) -> None:
    """The receiver was down while the sample was processed: every alert still lands, each
    delivery's signature verifies with the shared secret, and nothing is dead-lettered."""
    expected = {a["alert_id"] for a in stack.all_alerts()}
    deadline = time.monotonic() + 120
    while not expected <= stack.receiver.alert_ids() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert expected <= stack.receiver.alert_ids()
    assert stack.receiver.deliveries and all(d.verified for d in stack.receiver.deliveries)
    assert all(d.headers["Aidmon-Alert-Id"] == json.loads(d.body)["alert_id"] for d in stack.receiver.deliveries)
    assert metric_value(stack.url, "aidmon_webhook_deliveries_total", outcome="retried") >= 1
    assert metric_value(stack.url, "aidmon_webhook_deliveries_total", outcome="dead_lettered") == 0
    assert read_topic(stack.broker, WEBHOOK_DEAD_LETTERS) == []


def test_prometheus_scrapes_and_every_dashboard_query_is_valid(stack: Stack, tmp_path: Path) -> None:
    """A real Prometheus scrapes the worker; every PromQL expression of the dashboards runs,
    and most return data; the alert counter agrees with the API."""
    target = stack.url.removeprefix("http://")
    with start_prometheus(tmp_path / "prometheus", [target]) as prometheus:
        wait_for_scrape(prometheus)
        for i in range(5):  # traffic while it scrapes, so that rates are not all zero
            stack.post("/events", "publisher", json=dispatch(f"http-prom-{i}", f"SHP-HTTP-P{i}", "F"))
            assert stack.post("/events", "publisher", content=b"[1]").status_code == 422  # a reject
            time.sleep(1.0)
        time.sleep(6.0)  # the worker's gauges (every 5 s) and a few scrapes
        empty = []
        for title, expr in dashboard_expressions():
            if not query(prometheus, expr):  # raises if Prometheus refuses the expression
                empty.append(title)
        total = len(dashboard_expressions())
        assert len(empty) <= total // 5, f"{len(empty)} of {total} dashboard queries return nothing: {empty}"
        raised = query(prometheus, "sum(aidmon_alerts_total)")
        assert float(raised[0]["value"][1]) >= len({a["alert_id"] for a in stack.all_alerts()
                                                    if not a["subject"]["id"].startswith("SHP-HTTP")})
        rejected = query(prometheus, 'sum(aidmon_rejects_total{reason="not_an_object"})')
        assert float(rejected[0]["value"][1]) >= 1
        assert query(prometheus, 'aidmon_ready{job="aidmon-worker"} == 1')


def test_openapi_fuzzing_finds_no_server_error(stack: Stack) -> None:
    """schemathesis generates requests from /openapi.json (valid and not): no 5xx, answers
    match the document, and the worker lives on."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [str(schemathesis), "run", f"{stack.url}/openapi.json",
         "--header", f"Authorization: Bearer {stack.tokens['admin']}",
         # the stream never ends; a fuzzer cannot wait for it (tests/integration/test_api.py covers it)
         "--exclude-path", "/alerts/stream",
         # schema-valid requests may still break the contract (a cursor the API did not make,
         # an event whose `data` does not fit its `type`): refusing them is right
         "--checks", "all", "--exclude-checks", "positive_data_acceptance",
         "--max-examples", "60", "--seed", "2012", "--no-color",
         # a 10,000-event body takes seconds on a loaded 2-core machine: slow is not a failure here
         "--request-timeout", "60"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    report = "\n".join(line[:300] for line in run.stdout.splitlines() if "curl -X" not in line)
    assert run.returncode == 0, report[-6000:] + run.stderr[-2000:]
    assert stack.get("/healthz", role=None).status_code == 200 and stack.worker.poll() is None
    assert metric_value(stack.url, "aidmon_http_requests_total", code="500") == 0

"""CloudEvents binary content mode (contract 1.1) on a real broker, published with the official
`cloudevents` SDK's bindings: the sample in binary mode on Kafka gives replay's alerts (replay
reads its structured lines: the alerts of structured mode); events POSTed to the worker's API
in binary and in structured mode are accepted and give the same alerts; a malformed binary
message, on Kafka or over HTTP, lands in aid.rejects.v1 with its headers.

One worker (with its API) runs for the module on the session broker, which no other test
uses the contract's topics of.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from kafka import KafkaProducer

from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser
from streams.kafka.topics import EVENTS as EVENTS_TOPIC
from tests.integration.live import (
    SECRET,
    aidmon,
    alert_differences,
    exported,
    free_port,
    latest,
    rejected,
    replay_alerts,
    start_worker,
    stop,
    wait_caught_up,
    wait_ready,
    write_config,
)
from tests.integration.stack import create_token
from tests.paths import SAMPLE, require
from tests.unit.schemas.test_binary import cloud_event

pytestmark = pytest.mark.kafka
EVENTS, SANCTIONS = SAMPLE / "events.jsonl", SAMPLE / "sanctions.xml"
APP_ID = "binary"
SOURCE = "/agencies/wfp/mli"
FORMAT = JSONFormat()
PSEUDONYMISER = Pseudonymiser(SECRET.encode())


@dataclass
class Worker:
    broker: str  # kafka://host:port
    url: str
    token: str  # a publisher's, for SOURCE
    config: Path

    def post(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}/events", content=body, timeout=30,
                          headers={**headers, "Authorization": f"Bearer {self.token}"})


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A worker with its API on the session broker, its topics created, a publisher token."""
    folder = tmp_path_factory.mktemp("binary")
    broker = f"kafka://{kafka_bootstrap}"
    config = write_config(folder / "aidmon.toml", APP_ID)
    token = create_token(config, "publisher", "--source", SOURCE)
    aidmon(broker, "topics", "create", "--config", str(config))
    port = free_port()
    process = start_worker(broker, config, require(SANCTIONS), folder / "w", folder / "worker.log", port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield Worker(broker, f"http://127.0.0.1:{port}", token, config)
    finally:
        stop(process)


def valid_events(path: Path) -> list[dict[str, Any]]:
    """The lines of `path` that the contract accepts (re-sent events included), as JSON objects."""
    decode, events = Decoder(PSEUDONYMISER), []
    for line in path.read_bytes().splitlines():
        try:
            decode(line)
        except InvalidEventError:
            continue
        events.append(json.loads(line))
    return events


def from_http(alert: dict[str, Any]) -> bool:
    return any(item["event_id"].startswith("http-") for item in alert["evidence"])


def test_the_sample_in_binary_mode_on_kafka_gives_the_alerts_of_replay(worker: Worker, tmp_path: Path) -> None:
    """Every valid event of the sample sent by the SDK's Kafka binding in binary mode: the worker's
    alerts are replay's (structured mode's), field by field; malformed binary messages are
    rejected with their reasons, kept with their headers, and the rest goes on."""
    producer = KafkaProducer(bootstrap_servers=worker.broker.removeprefix("kafka://"), acks="all", linger_ms=20)
    try:
        for structured in valid_events(require(EVENTS)):
            message = ce_kafka.to_binary(cloud_event(structured), FORMAT, key_mapper=lambda e: e.get_subject())
            producer.send(EVENTS_TOPIC, key=str(message.key).encode(), value=message.value,
                          headers=list(message.headers.items()))
        good = ce_kafka.to_binary(cloud_event(valid_events(require(EVENTS))[0]), FORMAT)
        no_type = [(name, value) for name, value in good.headers.items() if name != "ce_type"]
        producer.send(EVENTS_TOPIC, value=good.value, headers=[*no_type, ("traceparent", b"00-ab-cd-01")])
        producer.send(EVENTS_TOPIC, value=b"{not json", headers=list(good.headers.items()))
        producer.flush()
    finally:
        producer.close()
    wait_caught_up(worker.broker, APP_ID)
    live = [alert for alert in exported(worker.broker) if not from_http(alert)]
    differences = alert_differences(live, replay_alerts(EVENTS, SANCTIONS, worker.config, tmp_path / "replay.jsonl"))
    assert not differences, f"{len(differences)} differences from replay:\n" + "\n".join(differences[:40])

    kept = [r for r in rejected(worker.broker) if r["source"].startswith(EVENTS_TOPIC)]
    assert sorted(r["reason"] for r in kept) == ["missing_field", "not_json"]
    for record in kept:
        assert record["headers"]["ce_id"] == good.headers["ce_id"].decode()
        assert "traceparent" not in record["headers"] and "partition" in record and "offset" in record
    assert {r["raw"] for r in kept} == {good.value.decode(), "{not json"}


def scenario(tag: str) -> list[dict[str, Any]]:
    """A dispatch to a listed transporter, its receipt short by 15 %, and one raw beneficiary
    id served twice in a round: three alerts, all on subjects of `tag` alone."""
    shipment, site, raw_id = f"SHP-HTTP-{tag}", f"DP-HTTP-{tag}", f"RAW-HTTP-{tag}"

    def event(name: str, kind: str, subject: str, at: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"specversion": "1.0", "id": f"http-{tag}-{name}", "source": SOURCE, "type": kind, "time": at,
                "subject": subject, "datacontenttype": "application/json", "data": data}

    def sorghum(kg: float) -> list[dict[str, Any]]:
        return [{"commodity": "sorghum", "unit": "kg", "quantity": kg}]

    return [
        event("dispatch", "shipment.dispatched", shipment, "2012-07-20T08:00:00Z", {
            "shipment_id": shipment, "waybill": f"WB-{tag}",
            "origin": {"site_id": "WH-GAO", "lat": 16.272, "lon": -0.044},
            "destination": {"site_id": site, "lat": 18.441, "lon": 1.408},
            "transporter": {"partner_id": f"PT-{tag}", "name": "Oumar Sidi Traorabe"},
            "consignee": {"partner_id": "PT-003", "name": "Boubacar Keita"},
            "items": sorghum(1000.0), "planned_route": [[-0.044, 16.272], [1.408, 18.441]],
            "expected_arrival": "2012-08-20T16:00:00Z"}),  # after the sample's end: never overdue
        event("receipt", "shipment.received", shipment, "2012-07-21T09:00:00Z", {
            "shipment_id": shipment, "site_id": site, "receiver": {"partner_id": "PT-003", "name": "Boubacar Keita"},
            "items": [{"commodity": "sorghum", "unit": "kg", "quantity": 850.0, "damaged": 0}]}),
        *(event(f"distribution-{n}", "distribution.recorded", site, f"2012-07-21T1{n}:00:00Z", {
            "site_id": site, "round_id": f"R-{tag}", "beneficiary": raw_id, "household_size": 4,
            "items": sorghum(25.0)}) for n in (1, 2)),
    ]


def test_binary_and_structured_requests_give_the_same_alerts(worker: Worker) -> None:
    """The same events POSTed with the SDK's HTTP binding in binary mode (one request each) and in
    structured mode are accepted and give the same alerts, raw ids tokenised; a malformed binary
    request is a 422, kept in aid.rejects.v1 with its headers and never the Authorization one."""
    for tag, write in (("BIN", ce_http.to_binary), ("STR", ce_http.to_structured)):
        for structured in scenario(tag):
            message = write(cloud_event(structured), FORMAT)
            answer = worker.post(message.headers, message.body)
            assert answer.status_code == 202, answer.text
            assert answer.json()["ids"] == [structured["id"]]
    bad = ce_http.to_binary(cloud_event(scenario("BAD")[0]), FORMAT)
    answer = worker.post({k: v for k, v in bad.headers.items() if k != "ce-type"}, bad.body)
    assert answer.status_code == 422 and answer.json()["rejected"][0]["reason"] == "missing_field"
    wait_caught_up(worker.broker, APP_ID)

    alerts = [alert for alert in latest(exported(worker.broker)).values() if from_http(alert)]
    token = {tag: PSEUDONYMISER(f"RAW-HTTP-{tag}") for tag in ("BIN", "STR")}

    def shown(tag: str) -> list[str]:
        """The alerts raised by `tag`'s events, ids left out, written as the structured ones would be."""
        found = [{k: v for k, v in a.items() if k != "alert_id"} for a in alerts
                 if any(e["event_id"].startswith(f"http-{tag}-") for e in a["evidence"])]
        text = [json.dumps(a, sort_keys=True).replace(token[tag], token["STR"]).replace(tag, "STR") for a in found]
        return sorted(text)

    assert {a["typology"] for a in alerts} == {"sanctioned_party", "transit_loss", "duplicate_collection"}
    assert len(shown("BIN")) == 3 and shown("BIN") == shown("STR")
    assert "RAW-HTTP" not in json.dumps(alerts)

    [kept] = [r for r in rejected(worker.broker) if r["source"] == "http:publisher"]
    assert kept["reason"] == "missing_field" and kept["raw"] == bad.body.decode()
    assert {name.lower() for name in kept["headers"]} == {name for name in bad.headers if name != "ce-type"}

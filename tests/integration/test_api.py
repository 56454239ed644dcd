"""The worker's HTTP API on a real broker: tokens and roles, alerts and their pages, the
lifecycle, Server-Sent Events, POST /events with good and bad bodies."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer

from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import ALERT_STATUS, EVENTS, REJECTS
from streams.worker.table_store import CHUNK_BYTES
from tests.integration.live import free_port, replay_pairs, start_worker, stop, wait_ready
from tests.integration.stack import APP_ID, PUBLISHER_SOURCE, Stack
from tests.paths import SAMPLE

pytestmark = pytest.mark.kafka

SECURED = [("GET", "/alerts"), ("GET", "/alerts/stream"), ("GET", "/alerts/x"), ("POST", "/alerts/x/status"),
           ("POST", "/events")]


def dispatch(event_id: str, shipment: str, transporter: str, source: str = PUBLISHER_SOURCE) -> dict[str, Any]:
    """A shipment.dispatched inside the sample's time span (it moves no clock forward)."""
    return {
        "specversion": "1.0", "id": event_id, "source": source, "type": "shipment.dispatched",
        "time": "2012-07-20T08:00:00Z", "subject": shipment,
        "data": {
            "shipment_id": shipment, "waybill": f"WB-{event_id}",
            "origin": {"site_id": "WH-GAO", "lat": 16.272, "lon": -0.044},
            "destination": {"site_id": "DP-KIDAL", "lat": 18.441, "lon": 1.408},
            "transporter": {"partner_id": "PT-HTTP", "name": transporter},
            "consignee": {"partner_id": "PT-003", "name": "Boubacar Keita"},
            "items": [{"commodity": "sorghum", "unit": "kg", "quantity": 1000.0}],
            "planned_route": [[-0.044, 16.272], [1.408, 18.441]],
            "expected_arrival": "2012-07-21T16:00:00Z",
        },
    }


def read_topic(broker: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap_servers(broker), auto_offset_reset="earliest",
                             consumer_timeout_ms=3000, enable_auto_commit=False)
    try:
        return [(record.key, record.value) for record in consumer]
    finally:
        consumer.close()


def test_open_endpoints_need_no_token(stack: Stack) -> None:
    """/healthz, /readyz, /metrics and /openapi.json answer without a token."""
    assert stack.get("/healthz", role=None).json()["checks"] == {"alive": True}
    ready = stack.get("/readyz", role=None)
    assert ready.status_code == 200 and ready.json()["ready"] is True
    metrics = stack.get("/metrics", role=None)
    assert metrics.status_code == 200 and "aidmon_events_total{" in metrics.text
    document = stack.get("/openapi.json", role=None).json()
    assert {"/alerts", "/alerts/stream", "/alerts/{alert_id}", "/alerts/{alert_id}/status", "/events",
            "/healthz", "/readyz", "/metrics"} <= set(document["paths"])
    assert document["servers"] == [{"url": "/", "description": document["servers"][0]["description"]}]


@pytest.mark.parametrize("limit", ["²", "１２", "١٢"])
def test_a_limit_in_other_digits_is_400(stack: Stack, limit: str) -> None:
    """`limit` takes ASCII digits only: a superscript or other Unicode digits are a 400, not a 500."""
    answer = stack.get("/alerts", limit=limit)
    assert (answer.status_code, answer.json()["error"]) == (400, "bad_request")


@pytest.mark.parametrize(("method", "path"), SECURED)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer"])
def test_no_valid_token_is_401(stack: Stack, method: str, path: str, authorization: str | None) -> None:
    """Without a bearer token, or with one the worker does not know, every secured endpoint says 401."""
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.request(method, f"{stack.url}{path}", headers=headers, content=b"{}", timeout=30)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["error"] == "unauthorized"


@pytest.mark.parametrize(("role", "method", "path"), [
    ("publisher", "GET", "/alerts"), ("publisher", "GET", "/alerts/stream"), ("publisher", "GET", "/alerts/x"),
    ("publisher", "POST", "/alerts/x/status"), ("monitor", "POST", "/events"),
])
def test_wrong_role_is_403(stack: Stack, role: str, method: str, path: str) -> None:
    """A valid token of a role that may not do this gets 403, and nothing happens."""
    answer = httpx.request(method, f"{stack.url}{path}", headers=stack.auth(role), content=b"{}", timeout=30)
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


def test_pages_hold_every_finding_of_replay_once(stack: Stack, tmp_path: Any) -> None:
    """Following the cursors gives each alert once, newest first, and the findings replay gives."""
    alerts = stack.all_alerts()
    ids = [a["alert_id"] for a in alerts]
    assert len(ids) == len(set(ids))
    keys = [(a["raised_at"], a["alert_id"]) for a in alerts]
    assert keys == sorted(keys, key=lambda k: (datetime.fromisoformat(k[0]), k[1]), reverse=True)
    sample = {(a["typology"], a["subject"]["id"]) for a in alerts if not a["subject"]["id"].startswith("SHP-HTTP")}
    assert sample == replay_pairs(SAMPLE / "events.jsonl", SAMPLE / "sanctions.xml", stack.config,
                                  tmp_path / "replay.jsonl")
    assert all(a["status"] in {"open", "acknowledged", "confirmed", "dismissed", "resolved"} for a in alerts)


@pytest.mark.parametrize(("name", "value"), [("typology", "sanctioned_party"), ("severity", "critical"),
                                             ("typology", "duplicate_collection"), ("status", "open")])
def test_filters_select_exactly_the_matching_alerts(stack: Stack, name: str, value: str) -> None:
    """A filter returns every alert that matches it and no other."""
    everything = stack.all_alerts()
    if name == "status":
        expected = {a["alert_id"] for a in everything if a["status"] == value}
    else:
        expected = {a["alert_id"] for a in everything if a[name] == value}
    assert expected
    assert {a["alert_id"] for a in stack.all_alerts(**{name: value})} == expected


def test_subject_and_since_filters(stack: Stack) -> None:
    """`subject` keeps one subject's alerts; `since` those raised or updated at or after it."""
    everything = stack.all_alerts()
    subject = everything[0]["subject"]["id"]
    assert {a["alert_id"] for a in stack.all_alerts(subject=subject)} == {
        a["alert_id"] for a in everything if a["subject"]["id"] == subject}
    since = "2012-08-01T00:00:00Z"
    cut = datetime.fromisoformat(since)
    later = {a["alert_id"] for a in everything
             if datetime.fromisoformat(a.get("updated_at") or a["raised_at"]) >= cut
             or datetime.fromisoformat(a["raised_at"]) >= cut}
    assert 0 < len(later) < len(everything)
    assert {a["alert_id"] for a in stack.all_alerts(since=since)} == later


@pytest.mark.parametrize("params", [{"typology": "theft"}, {"severity": "urgent"}, {"status": "closed"},
                                    {"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"since": "yesterday"},
                                    {"since": "2012-08-01T00:00:00"}, {"cursor": "bm90LWEtY3Vyc29y"},
                                    {"cursor": ""}, {"subject": ""}])
def test_bad_query_parameters_are_400(stack: Stack, params: dict[str, str]) -> None:
    """A filter, limit or cursor that is not valid is a 400 that says what is wrong."""
    answer = stack.get("/alerts", **params)
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request" and answer.json()["detail"]


def test_the_worker_says_where_its_console_api_and_metrics_are(stack: Stack) -> None:
    """One line at start names the console, the OpenAPI document and the metrics, at the worker's address."""
    said = stack.log.read_text(errors="replace")
    assert (f"the monitors' console: {stack.url}/ (a monitor token signs in); the API: {stack.url}/openapi.json; "
            f"metrics: {stack.url}/metrics") in said


def test_one_alert_or_404(stack: Stack) -> None:
    """GET /alerts/{id} gives the alert with its history; an unknown id is 404."""
    first = stack.all_alerts()[0]
    one = stack.get(f"/alerts/{first['alert_id']}")
    assert one.status_code == 200
    assert one.json()["alert_id"] == first["alert_id"] and isinstance(one.json()["history"], list)
    assert stack.get("/alerts/00000000-0000-0000-0000-000000000000").status_code == 404


def test_an_alerts_map_holds_its_zones_route_and_positions_and_never_a_token(stack: Stack) -> None:
    """A route deviation's map: zones coloured by status, the planned route, the convoy's
    positions; a beneficiary's: the sites, without its token; GeoJSON [lon, lat] in Mali."""
    alerts = stack.get("/alerts", typology="route_deviation", limit="1").json()["alerts"]
    deviation = stack.get(f"/alerts/{alerts[0]['alert_id']}/context")
    assert deviation.status_code == 200 and deviation.headers["content-type"].startswith("application/geo+json")
    features = deviation.json()["features"]
    roles = {f["properties"]["role"] for f in features}
    assert {"zone", "route", "position", "origin", "destination"} <= roles, roles
    assert {f["properties"]["status"] for f in features if f["properties"]["role"] == "zone"} >= {"armed_group"}
    [route] = [f for f in features if f["properties"]["role"] == "route"]
    assert all(-12.5 < lon < 4.5 and 10 < lat < 25.5 for lon, lat in route["geometry"]["coordinates"])
    [double] = stack.get("/alerts", typology="duplicate_collection", limit="1").json()["alerts"]
    collection = stack.get(f"/alerts/{double['alert_id']}/context").json()
    assert [f for f in collection["features"] if f["properties"]["role"] == "site"]
    assert double["subject"]["id"] not in json.dumps(collection)


def test_lifecycle_is_audited_kept_and_seen_by_every_worker(stack: Stack) -> None:
    """Acknowledge, confirm, resolve: each change an audit record (who, when, what) on the
    compacted status topic; impossible changes are 409; a second worker sees the history."""
    alert_id = stack.all_alerts(typology="transit_loss")[0]["alert_id"]
    path = f"/alerts/{alert_id}/status"
    steps = [("monitor", "acknowledged", "on it"), ("admin", "confirmed", "waybill checked"),
             ("monitor", "resolved", "")]
    for role, status, note in steps:
        changed = stack.post(path, role, json={"status": status, "note": note})
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == status
    conflict = stack.post(path, "monitor", json={"status": "confirmed"})
    assert conflict.status_code == 409 and "resolved" in conflict.json()["detail"]
    history = stack.get(f"/alerts/{alert_id}").json()["history"]
    assert [(h["by"], h["status"], h["note"]) for h in history] == steps
    assert [h["previous"] for h in history] == ["open", "acknowledged", "confirmed"]
    assert alert_id in {a["alert_id"] for a in stack.all_alerts(status="resolved")}
    assert alert_id not in {a["alert_id"] for a in stack.all_alerts(status="open")}

    records = [(key, json.loads(value)) for key, value in read_topic(stack.broker, ALERT_STATUS)]
    mine = [(key, r) for key, r in records if r["alert_id"] == alert_id]
    assert [r["status"] for _, r in mine] == ["acknowledged", "confirmed", "resolved"]
    assert all(key == f"{alert_id}/{r['change_id']}".encode() for key, r in mine)  # one key each: never compacted

    port = free_port()
    second = start_worker(stack.broker, stack.config, SAMPLE / "sanctions.xml", stack.folder / "w2",
                          stack.folder / "worker2.log", port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", second)
        seen = httpx.get(f"http://127.0.0.1:{port}/alerts/{alert_id}", headers=stack.auth("monitor"), timeout=30)
        assert seen.status_code == 200
        assert seen.json()["history"] == history
    finally:
        stop(second)


@pytest.mark.parametrize(("body", "code"), [
    (b"not json at all", 400), (b'{"status": "closed"}', 422), (b'{"status": "acknowledged", "by": "me"}', 422),
    (b"[]", 422), (b"", 400),
])
def test_bad_status_requests(stack: Stack, body: bytes, code: int) -> None:
    """A status change that is not JSON is 400; one that is not a status request is 422."""
    alert_id = stack.all_alerts()[-1]["alert_id"]
    answer = stack.post(f"/alerts/{alert_id}/status", "monitor", content=body)
    assert answer.status_code == code, answer.text


def test_sse_streams_new_and_changed_alerts(stack: Stack) -> None:
    """A follower of /alerts/stream receives the alert an HTTP-published event raises and a
    status change, as `alert` events whose id is the alert id."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    opened = threading.Event()

    def follow() -> None:
        with httpx.stream("GET", f"{stack.url}/alerts/stream", headers=stack.auth("monitor"),
                          timeout=httpx.Timeout(60, read=60)) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            opened.set()
            fields: dict[str, str] = {}
            try:
                for line in answer.iter_lines():
                    if line == "":
                        if fields.get("event") == "alert":
                            events.put({"id": fields["id"], **json.loads(fields["data"])})
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
            except httpx.HTTPError:
                pass  # the worker stopped at the end of the session

    threading.Thread(target=follow, daemon=True).start()
    assert opened.wait(30)
    sent = stack.post("/events", "publisher", json=dispatch("http-sse-1", "SHP-HTTP-1", "Oumar Sidi Traorabe"))
    assert sent.status_code == 202, sent.text
    target = stack.all_alerts(typology="unscheduled_stop")[0]["alert_id"]
    assert stack.post(f"/alerts/{target}/status", "monitor", json={"status": "acknowledged"}).status_code == 200

    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (target in seen and any(
            e["subject"]["id"] == "SHP-HTTP-1" and e["typology"] == "sanctioned_party" for e in seen.values())):
        try:
            event = events.get(timeout=1)
        except queue.Empty:
            continue
        assert event["id"] == event["alert_id"]
        seen[event["alert_id"]] = event
    assert seen.get(target, {}).get("status") == "acknowledged"
    raised = [e for e in seen.values() if e["subject"]["id"] == "SHP-HTTP-1" and e["typology"] == "sanctioned_party"]
    assert raised and raised[0]["severity"] == "critical"


@pytest.mark.parametrize(("body", "content_type", "code", "reason"), [
    (b"{not json", "application/json", 400, None),
    (b"[1, 2, 3]", "application/json", 422, "not_an_object"),
    (b"\xff\xfe\x00not utf-8", "application/json", 400, None),
    (json.dumps({k: v for k, v in dispatch("http-bad-1", "SHP-HTTP-2", "X").items() if k != "time"}).encode(),
     "application/json", 422, "missing_field"),
    (b'"just a string"', "application/json", 400, None),
    (b"", "application/json", 400, None),
    (json.dumps(dispatch("ok", "SHP-HTTP-3", "X")).encode() + b"\n{broken\n", "application/x-ndjson", 422,
     "not_json"),
    (b"x" * (2 << 20), "application/json", 400, None),  # bigger than a Kafka message: its reject is cut
    (json.dumps([dispatch("ok", "SHP-HTTP-3", "x" * (1 << 20))]).encode(), "application/json", 422, "too_large"),
])
def test_bad_bodies_are_refused_clearly_and_the_worker_lives(
    stack: Stack, body: bytes, content_type: str, code: int, reason: str | None
) -> None:
    """Each bad body gets a 400 or 422 with a reason per rejected event; nothing is
    published, and the worker goes on answering and accepting."""
    answer = stack.post("/events", "publisher", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == code, answer.text
    assert answer.json()["detail"]
    if reason is not None:
        assert reason in {r["reason"] for r in answer.json()["rejected"]}
        assert answer.json()["accepted"] == 0
    assert stack.get("/healthz", role=None).status_code == 200
    assert stack.worker.poll() is None


def test_batches_and_ndjson_are_accepted_and_rejects_kept(stack: Stack) -> None:
    """A JSON array and a large NDJSON body are published whole (202 with their ids); refused
    events are kept in aid.rejects.v1 with the publisher's name and the reason."""
    array = [dispatch("http-array-1", "SHP-HTTP-4", "A"), dispatch("http-array-2", "SHP-HTTP-5", "B")]
    answer = stack.post("/events", "publisher", json=array)
    assert answer.status_code == 202 and answer.json() == {"accepted": 2, "ids": ["http-array-1", "http-array-2"]}
    lines = b"\n".join(json.dumps(dispatch(f"http-nd-{i}", f"SHP-HTTP-N{i % 50}", "C")).encode()
                        for i in range(2000))  # about 1.5 MB: many reads of the body
    answer = stack.post("/events", "publisher", content=lines, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 202 and answer.json()["accepted"] == 2000
    stack.post("/events", "publisher", content=b"[1, 2, 3]")
    kept = [json.loads(value) for _, value in read_topic(stack.broker, REJECTS)]
    assert any(r["source"] == "http:publisher" and r["reason"] == "not_an_object" for r in kept)


def test_a_publisher_publishes_only_under_its_source(stack: Stack) -> None:
    """An event under another agency's source is 403, named; the admin may publish any source."""
    other = dispatch("http-other-1", "SHP-HTTP-20", "D", source="/agencies/unicef/mli")
    answer = stack.post("/events", "publisher", json=[dispatch("http-own-1", "SHP-HTTP-21", "E"), other])
    assert answer.status_code == 403
    assert [(r["index"], r["reason"]) for r in answer.json()["rejected"]] == [(1, "source_not_allowed")]
    assert stack.post("/events", "admin", json=other).status_code == 202


def test_tokens_and_raw_ids_never_reach_the_log(stack: Stack) -> None:
    """The worker's log (at INFO) holds no API token and no raw beneficiary id; the metrics
    hold neither beneficiary tokens nor subjects."""
    text = stack.log.read_text(encoding="utf-8", errors="replace")
    assert "alert view loaded" in text  # the log is the worker's, at INFO
    for token in stack.tokens.values():
        assert token not in text
    raw_id = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))["raw_duplicate"]["raw_id"]
    assert raw_id not in text
    assert raw_id not in json.dumps(stack.all_alerts())
    metrics = stack.get("/metrics", role=None).text
    assert "tok_" not in metrics and raw_id not in metrics and "SHP-" not in metrics


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_413(stack: Stack, chunked: bool) -> None:
    """A body larger than api.max_body_bytes is refused with 413, whether its length is
    announced or it comes chunked, and the worker goes on."""
    too_big = b" " * (10 * 1024 * 1024 + 1)
    step = 1 << 20
    content: Any = iter([too_big[i:i + step] for i in range(0, len(too_big), step)]) if chunked else too_big
    answer = stack.post("/events", "publisher", content=content)
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]
    assert stack.get("/healthz", role=None).status_code == 200


def test_state_changelog_messages_stay_far_below_kafkas_limit(stack: Stack) -> None:
    """After the sample, every message of the state changelog is a few kilobytes, far below
    one chunk and Kafka's 1 MB default: a site's rounds and ledgers are kept in chunks of
    their own (its record pickled to about 470 KB when it held them), so no value is
    written in chunks."""
    records = read_topic(stack.broker, f"{APP_ID}-state-changelog")
    assert records and max(len(value or b"") for _, value in records) <= CHUNK_BYTES // 4
    assert not any(b"\x1fchunks|" in (key or b"") for key, _ in records)


def test_a_huge_malformed_message_on_kafka_is_kept_cut_and_the_worker_lives(stack: Stack) -> None:
    """A 900 KB non-UTF-8 message on aid.events.v1 (its base64 would pass Kafka's limit) is
    kept in aid.rejects.v1 cut short, with its length and SHA-256, and routing goes on."""
    raw = b"\xff" * (900 * 1024)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(stack.broker), max_request_size=2 << 20)
    producer.send(EVENTS, raw).get(timeout=30)
    producer.close()
    deadline = time.monotonic() + 60
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        found = [r for r in (json.loads(v) for _, v in read_topic(stack.broker, REJECTS))
                 if r.get("raw_sha256") == hashlib.sha256(raw).hexdigest()]
    assert found and found[0]["truncated"] is True and found[0]["raw_length"] == len(raw)
    assert found[0]["source"].startswith(EVENTS)
    assert stack.post("/events", "publisher", json=dispatch("http-after-big", "SHP-HTTP-30", "G")).status_code == 202
    assert stack.worker.poll() is None

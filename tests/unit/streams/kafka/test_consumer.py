"""Reading the alerts topic for `aidmon alerts export|tail`: tombstones hold no alert. Kafka is
not here: records stand in for the consumer's (the broker's side is tests/integration/test_tombstones.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from streams.kafka.consumer import alerts_of


def record(key: bytes, value: bytes | None) -> SimpleNamespace:
    return SimpleNamespace(key=key, value=value)


def test_tombstones_are_skipped_and_alerts_kept_in_order() -> None:
    """A key with no value (compaction's or an administrator's deletion) yields nothing; the
    alerts around it come through in topic order."""
    first, second = {"alert_id": "a-1", "typology": "transit_loss"}, {"alert_id": "a-2", "typology": "theft"}
    records = [record(b"gone", None), record(b"a-1", json.dumps(first).encode()), record(b"a-1", None),
               record(b"a-2", json.dumps(second).encode()), record(b"gone-too", None)]
    assert list(alerts_of(records)) == [first, second]


def test_only_tombstones_yield_nothing() -> None:
    """A batch of tombstones alone is no alert at all, and no error."""
    assert list(alerts_of([record(b"a", None), record(b"b", None)])) == []


def test_a_record_that_is_no_alert_is_skipped_with_its_place(caplog: pytest.LogCaptureFixture) -> None:
    """Not JSON, not an object, or no alert id (a tool writing to the wrong topic): skipped with
    one warning naming its partition and offset, not a traceback that ends the export."""
    alert = {"alert_id": "a-1", "raised_at": "2012-07-04T13:08:05Z"}
    records = [SimpleNamespace(key=b"k", value=value, partition=2, offset=offset) for offset, value in
               enumerate([b"not json", b"[1, 2]", b'{"typology": "theft"}', json.dumps(alert).encode()])]
    assert list(alerts_of(records)) == [alert]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipped a record of diversion.alerts.v1 that is not an alert (partition 2, offset {offset})"
        for offset in range(3)]


def test_tail_lines_show_the_id_and_whether_new_or_an_update() -> None:
    """`alerts tail` prints each alert's id, `new` the first time it sees the id, then `update`."""
    from streams.kafka.consumer import render_alert

    alert = {"alert_id": "1f3f59c6-2347-534a-a5b5-901ba5dc144a", "raised_at": "2012-07-04T13:08:05Z",
             "severity": "high", "typology": "transit_loss", "subject": {"kind": "shipment", "id": "SHP-000003"},
             "summary": "arrived short"}
    seen: set[str] = set()
    first, second = render_alert(alert, seen), render_alert(alert, seen)
    assert first.startswith("2012-07-04T13:08:05Z  new     1f3f59c6-2347-534a-a5b5-901ba5dc144a  high")
    assert second.startswith("2012-07-04T13:08:05Z  update  1f3f59c6-2347-534a-a5b5-901ba5dc144a  high")
    assert first.endswith("transit_loss          shipment SHP-000003: arrived short")


def test_tail_says_new_means_first_seen_in_this_run(capsys: pytest.CaptureFixture[str]) -> None:
    """`aidmon alerts tail --help` says what `new` means: the first version of the id seen in this run."""
    from streams.cli.main import main

    with pytest.raises(SystemExit):
        main(["alerts", "tail", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "`new` is the first version of that alert id seen in this run" in text
    assert "`update` is a later version of an id already shown in this run" in text


def test_an_alert_cannot_tell_its_own_first_version() -> None:
    """Why `new` is by run, not by the alert's data: a first version's `updated_at` (its latest
    evidence) need not equal `raised_at` (an overdue shipment's evidence, the dispatch, is a day
    older than the deadline it is raised at), and nothing else in an alert counts versions."""
    from agents.findings import Finding, Proof, to_alert
    from schemas.alerts import Alert

    dispatch = Proof("ev-1", "shipment.dispatched", 1_341_100_000.0, "dispatched")
    first = to_alert(Finding("overdue_shipment", "shipment", "SHP-1", "medium", 0.5, "overdue", (dispatch,),
                             raised_at=dispatch.time + 2 * 86_400))
    assert first.updated_at is not None and first.updated_at < first.raised_at
    assert not {"version", "first_raised_at", "previous"} & set(Alert.model_fields)

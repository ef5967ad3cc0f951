"""A customer's timeline: rows in order, scores after each, alerts where they were raised."""

from datetime import UTC, datetime

import orjson

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.engine import EngineSettings
from cxpulse.processors.replay.timeline import TimelineBuilder
from cxpulse.processors.replay.timeline_view import describe_event, print_timeline, timeline_json
from cxpulse.schemas import parse_event

WRITTEN = 1741300000000  # 2025-03-06T22:26:40Z


def event(eid: str, customer: str, when: str, **fields) -> tuple[bytes, bytes]:
    body = {"event_id": eid, "customer_id": customer, "occurred_at": when, "channel": "phone",
            "service_type": "billing", **fields}
    return customer.encode(), orjson.dumps(body)


def call(eid, customer, when, **fields):
    return event(eid, customer, when, event_type="call", direction="inbound", wait_seconds=30.0,
                 talk_seconds=200.0, outcome=fields.pop("outcome", "unresolved"), **fields)


HISTORY = [
    call("a1", "C-1", "2025-03-03T09:00:00Z"),
    call("b1", "C-2", "2025-03-03T09:30:00Z"),
    call("a2", "C-1", "2025-03-04T10:00:00Z"),
    call("a3", "C-1", "2025-03-04T15:00:00Z", is_complaint=True),
    call("a3", "C-1", "2025-03-04T15:00:00Z", is_complaint=True),  # the same event again
    (b"C-1", b'{"event_id": "torn'),
    event("a4", "C-1", "2025-03-05T08:00:00Z", event_type="ticket", ticket_id="T9", action="opened",
          priority="urgent", due_at="2025-03-05T12:00:00Z"),
    call("b2", "C-2", "2025-03-05T13:00:00Z", outcome="resolved"),  # the stream clock passes T9's due time
]


def build(history=HISTORY, customer="C-1"):
    records = [SourceRecord(0, i, WRITTEN + i, key, value) for i, (key, value) in enumerate(history)]
    return TimelineBuilder(EngineSettings(), customer, 86400.0).build(records)


def test_rows_in_order_with_score_band_and_alerts():
    timeline = build()

    assert [row.kind for row in timeline.rows] == ["event", "event", "event", "duplicate", "invalid", "event", "clock"]
    third = timeline.rows[2]
    assert third.signals[:3] == ("inbound_contact", "repeat_contact", "call_unresolved")
    assert "repeat_contact" in [a.rule for a in third.alerts]
    scores = [row.score for row in timeline.rows if row.kind == "event"]
    assert scores == sorted(scores, reverse=True) and scores[0] < 100
    assert timeline.rows[4].reason.startswith("not valid JSON")


def test_an_sla_breach_found_by_the_stream_clock_has_its_own_row():
    clock = build().rows[-1]

    assert clock.at == datetime(2025, 3, 5, 12, tzinfo=UTC)
    assert [(a.rule, a.severity) for a in clock.alerts][0] == ("sla_breach", "critical")
    assert clock.score == clock.alerts[-1].score


def test_the_customer_alone_gives_the_same_alerts_except_what_the_clock_found():
    alone = build([h for h in HISTORY if h[0] == b"C-1"])

    assert [a.alert_id for a in alone.alerts] == [a.alert_id for a in build().alerts][:len(alone.alerts)]
    assert "sla_breach" not in [a.rule for a in alone.alerts]
    assert alone.open_tickets == [("T9", datetime(2025, 3, 5, 12, tzinfo=UTC).timestamp())]


def test_a_window_narrows_the_rows_not_the_history():
    timeline = build()

    rows = timeline.window(datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC))

    assert [row.event.event_id for row in rows if row.event] == ["a2", "a3", "a3"]
    assert rows[0].score == timeline.rows[1].score  # the score carries the day before


def test_json_has_every_row_and_the_final_state():
    timeline = build()

    data = orjson.loads(orjson.dumps(timeline_json(timeline, timeline.rows, "test", None, None)))

    assert [r["kind"] for r in data["rows"]] == [row.kind for row in timeline.rows]
    assert data["rows"][0]["event"]["event_id"] == "a1" and data["rows"][0]["offset"] == 0
    assert data["final"]["customer_id"] == "C-1" and data["final"]["events_seen"] == 4
    assert {a["rule"] for a in data["alerts"]} >= {"repeat_contact", "sla_breach"}


def test_the_table_names_the_rules_and_their_summaries():
    from rich.console import Console

    timeline = build()
    console = Console(width=250, record=True)
    print_timeline(console, timeline, timeline.rows, "C-1")
    text = console.export_text()

    assert "repeat_contact" in text and "stream clock" in text and "invalid record" in text
    assert "contacted billing 3 times within 72 h" in text


def test_events_are_described_in_a_few_words():
    _, value = call("x", "C-1", "2025-03-04T10:00:00Z", sentiment=-0.7, is_complaint=True)

    assert describe_event(parse_event(value)) == ("call inbound",
                                                  "unresolved, wait 30s, talk 200s, sentiment -0.70, complaint")


def test_another_customers_time_outside_the_contract_range_moves_no_clock():
    from cxpulse.processors.replay.timeline import _event_time

    def record(occurred_at: str, timestamp: int | None) -> SourceRecord:
        return SourceRecord(0, 0, timestamp, b"C-2", orjson.dumps({"occurred_at": occurred_at}))

    assert _event_time(record("2025-03-10T00:00:00Z", None), 86400) == datetime(2025, 3, 10, tzinfo=UTC).timestamp()
    assert _event_time(record("9999-12-31T23:00:00-05:00", None), 86400) is None  # year 10000 in UTC
    assert _event_time(record("0001-01-01T00:00:00+01:00", 1_741_564_800_000), 86400) is None  # year 0 in UTC

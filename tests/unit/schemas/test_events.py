"""parse_event accepts every valid example and refuses each kind of invalid input, naming the field."""

import json
from datetime import UTC, datetime, timezone
from typing import Any

import pytest

from cxpulse.schemas import AccountEvent, CallEvent, FeedbackEvent, InvalidEvent, TicketEvent, parse_event

from .examples import CALL, FEEDBACK, TICKET, VALID

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc).timestamp()


def _raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def _without(event: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != field}


@pytest.mark.parametrize("example", [event for _, event in VALID], ids=[name for name, _ in VALID])
def test_valid_examples_parse(example):
    event = parse_event(_raw(example), now=NOW + 86400 * 3)

    expected_type = {"call": CallEvent, "ticket": TicketEvent, "feedback": FeedbackEvent,
                     "account": AccountEvent}[example["event_type"]]
    assert isinstance(event, expected_type)
    assert event.event_id == example["event_id"]
    assert event.occurred_at.tzinfo is not None


def test_defaults_and_normalisation():
    event = parse_event(_raw({**CALL, "service_type": "BiLLing"}))

    assert event.service_type == "billing"
    assert (event.segment, event.schema_version, event.is_complaint) == ("standard", 2, False)
    assert event.occurred_at == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def test_parse_accepts_text_as_well_as_bytes():
    assert parse_event(json.dumps(TICKET)).event_id == TICKET["event_id"]


# (id, raw record, fragment the reason must contain)
INVALID: list[tuple[str, bytes, str]] = [
    ("not-json", b"hello", "not valid JSON"),
    ("truncated-json", _raw(CALL)[:-1], "not valid JSON"),
    ("empty", b"", "not valid JSON"),
    ("array", b"[1, 2]", "must be a JSON object"),
    ("string", b'"call"', "must be a JSON object"),
    ("null", b"null", "must be a JSON object"),
    ("invalid-utf8-start", b"\xff\xfe{}", "not valid UTF-8"),
    ("invalid-utf8-in-string", _raw(CALL).replace(b"C-000042", b"C-\xff0042"), "not valid UTF-8"),
    ("missing-event-type", _raw(_without(CALL, "event_type")), "event_type: required"),
    ("unknown-event-type", _raw({**CALL, "event_type": "chat"}), "event_type: must be one of"),
    ("event-type-not-string", _raw({**CALL, "event_type": 3}), "event_type"),
    ("missing-event-id", _raw(_without(CALL, "event_id")), "event_id: Field required"),
    ("missing-customer-id", _raw(_without(TICKET, "customer_id")), "customer_id: Field required"),
    ("missing-occurred-at", _raw(_without(FEEDBACK, "occurred_at")), "occurred_at: Field required"),
    ("missing-call-field", _raw(_without(CALL, "outcome")), "outcome: Field required"),
    ("missing-ticket-field", _raw(_without(TICKET, "ticket_id")), "ticket_id: Field required"),
    ("missing-survey", _raw(_without(FEEDBACK, "survey")), "survey: Field required"),
    ("empty-event-id", _raw({**CALL, "event_id": ""}), "event_id"),
    ("wait-as-string", _raw({**CALL, "wait_seconds": "42"}), "wait_seconds: Input should be a valid number"),
    ("wait-as-bool", _raw({**CALL, "wait_seconds": True}), "wait_seconds"),
    ("wait-overflows-to-infinity", _raw(CALL).replace(b'"wait_seconds": 42', b'"wait_seconds": 1e400'),
     "wait_seconds: Input should be a finite number"),
    ("negative-wait", _raw({**CALL, "talk_seconds": -1}), "talk_seconds: Input should be greater than or equal to 0"),
    ("complaint-as-string", _raw({**CALL, "is_complaint": "yes"}), "is_complaint: Input should be a valid boolean"),
    ("customer-id-as-number", _raw({**CALL, "customer_id": 42}), "customer_id: Input should be a valid string"),
    ("customer-id-space", _raw({**CALL, "customer_id": "C 42"}), "customer_id: String should match pattern"),
    ("customer-id-email", _raw({**CALL, "customer_id": "a@b.example"}), "customer_id: String should match pattern"),
    ("customer-id-too-long", _raw({**CALL, "customer_id": "c" * 65}), "customer_id: String should have at most 64"),
    ("customer-id-empty", _raw({**CALL, "customer_id": ""}), "customer_id"),
    ("event-id-too-long", _raw({**CALL, "event_id": "e" * 129}), "event_id: String should have at most 128"),
    ("service-type-too-long", _raw({**CALL, "service_type": "s" * 41}), "service_type: String should have at most 40"),
    ("service-type-empty", _raw({**CALL, "service_type": ""}), "service_type: String should have at least 1"),
    ("comment-too-long", _raw({**FEEDBACK, "comment": "x" * 2001}), "comment: String should have at most 2000"),
    ("ticket-id-too-long", _raw({**TICKET, "ticket_id": "t" * 129}), "ticket_id: String should have at most 128"),
    ("agent-id-too-long", _raw({**CALL, "agent_id": "a" * 65}), "agent_id: String should have at most 64"),
    ("unknown-channel", _raw({**CALL, "channel": "fax"}), "channel: Input should be"),
    ("unknown-segment", _raw({**CALL, "segment": "gold"}), "segment: Input should be"),
    ("unknown-outcome", _raw({**CALL, "outcome": "solved"}), "outcome: Input should be"),
    ("unknown-action", _raw({**TICKET, "action": "deleted"}), "action: Input should be"),
    ("unknown-priority", _raw({**TICKET, "priority": "p1"}), "priority: Input should be"),
    ("unknown-survey", _raw({**FEEDBACK, "survey": "ratings"}), "survey: Input should be"),
    ("future-schema-version", _raw({**CALL, "schema_version": 3}), "schema_version"),
    ("sentiment-above-range", _raw({**CALL, "sentiment": 1.5}), "sentiment: Input should be less than or equal to 1"),
    ("sentiment-below-range", _raw({**CALL, "sentiment": -1.01}), "sentiment"),
    ("csat-zero", _raw({**FEEDBACK, "score": 0}), "score: a csat score must be 1..5"),
    ("csat-six", _raw({**FEEDBACK, "score": 6}), "score: a csat score must be 1..5"),
    ("nps-negative", _raw({**FEEDBACK, "survey": "nps", "score": -1}), "score: a nps score must be 0..10"),
    ("nps-eleven", _raw({**FEEDBACK, "survey": "nps", "score": 11}), "score: a nps score must be 0..10"),
    ("ces-zero", _raw({**FEEDBACK, "survey": "ces", "score": 0}), "score: a ces score must be 1..7"),
    ("ces-eight", _raw({**FEEDBACK, "survey": "ces", "score": 8}), "score: a ces score must be 1..7"),
    ("score-missing", _raw(_without(FEEDBACK, "score")), "score: a csat survey needs a score"),
    ("score-on-comment", _raw({**FEEDBACK, "survey": "comment", "comment": "ok"}), "score: a comment survey carries no score"),
    ("score-float", _raw({**FEEDBACK, "score": 2.5}), "score: Input should be a valid integer"),
    ("score-string", _raw({**FEEDBACK, "score": "2"}), "score: Input should be a valid integer"),
    ("naive-timestamp", _raw({**CALL, "occurred_at": "2024-05-01T10:00:00"}), "occurred_at: must be an RFC 3339"),
    ("date-only", _raw({**CALL, "occurred_at": "2024-05-01"}), "occurred_at: must be an RFC 3339"),
    ("space-separator", _raw({**CALL, "occurred_at": "2024-05-01 10:00:00Z"}), "occurred_at: must be an RFC 3339"),
    ("no-seconds", _raw({**CALL, "occurred_at": "2024-05-01T10:00Z"}), "occurred_at: must be an RFC 3339"),
    ("offset-without-colon", _raw({**CALL, "occurred_at": "2024-05-01T10:00:00+0200"}), "occurred_at: must be an RFC 3339"),
    ("unix-time-string", _raw({**CALL, "occurred_at": "1714550400"}), "occurred_at: must be an RFC 3339"),
    ("unix-time-number", _raw({**CALL, "occurred_at": 1714550400}), "occurred_at"),
    ("locale-format", _raw({**CALL, "occurred_at": "01/05/2024 10:00:00 +02:00"}), "occurred_at: must be an RFC 3339"),
    ("impossible-date", _raw({**CALL, "occurred_at": "2024-02-30T10:00:00Z"}), "occurred_at: not a valid date"),
    ("hour-25", _raw({**CALL, "occurred_at": "2024-05-01T25:00:00Z"}), "occurred_at: not a valid date"),
    ("naive-due-at", _raw({**TICKET, "due_at": "2024-05-03T10:05:00"}), "due_at: must be an RFC 3339"),
    # The range of every time, in UTC (docs/rules.md): year 0 and year 10000 once converted.
    ("year-0-in-utc", _raw({**FEEDBACK, "occurred_at": "0001-01-01T00:00:00+01:00", "score": 1}),
     "occurred_at: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC"),
    ("before-1970", _raw({**CALL, "occurred_at": "1970-01-01T00:59:59.999999+01:00"}), "occurred_at: must be between"),
    ("due-in-year-0-in-utc", _raw({**TICKET, "due_at": "0001-01-01T00:00:00+01:00"}), "due_at: must be between"),
    ("due-in-year-10000-in-utc", _raw({**TICKET, "due_at": "9999-12-31T23:00:00-05:00"}), "due_at: must be between"),
    ("due-after-the-last-second", _raw({**TICKET, "due_at": "9999-12-31T23:59:59.000001Z"}), "due_at: must be between"),
    ("service-type-newline", _raw({**CALL, "service_type": "billing\nfake"}), "service_type: must not contain control"),
    ("service-type-ansi", _raw({**CALL, "service_type": "\x1b[31mred"}), "service_type: must not contain control"),
    ("service-type-c1", _raw({**CALL, "service_type": "bill\x85ing"}), "service_type: must not contain control"),
    ("service-type-bidi", _raw({**CALL, "service_type": "\u202egnillib"}), "service_type: must not contain control"),
    ("service-type-line-separator", _raw({**CALL, "service_type": "a\u2028b"}), "service_type: must not contain"),
    ("service-type-grows-when-lowered", _raw({**CALL, "service_type": "İ" * 30}), "service_type: longer than 40"),
    ("unknown-field", _raw({**CALL, "phone_number": "+86 138 0000 0000"}), "phone_number: unknown field"),
    ("field-of-another-type", _raw({**CALL, "ticket_id": "T-1"}), "ticket_id: unknown field"),
]


@pytest.mark.parametrize(("raw", "fragment"), [(raw, frag) for _, raw, frag in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_input_is_refused_with_a_reason_naming_the_field(raw, fragment):
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, now=NOW)

    assert fragment in caught.value.reason
    assert "\n" not in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_future_beyond_the_limit_is_refused():
    raw = _raw({**CALL, "occurred_at": "2024-05-02T12:00:01Z"})  # NOW + 1 day + 1 s

    with pytest.raises(InvalidEvent, match=r"^occurred_at: more than 86400 s after the time it was read$"):
        parse_event(raw, now=NOW)


def test_future_within_the_limit_and_a_custom_limit():
    raw = _raw({**CALL, "occurred_at": "2024-05-01T12:10:00Z"})  # NOW + 10 min

    assert parse_event(raw, now=NOW).event_id == CALL["event_id"]
    with pytest.raises(InvalidEvent, match="occurred_at: more than 60 s"):
        parse_event(raw, now=NOW, max_future_seconds=60)


def test_future_check_is_skipped_without_now():
    assert parse_event(_raw({**CALL, "occurred_at": "2999-01-01T00:00:00Z"})).occurred_at.year == 2999


def test_many_errors_are_summarised_on_one_line():
    raw = _raw({**CALL, "channel": "fax", "outcome": "x", "wait_seconds": -1, "talk_seconds": -1, "segment": "z"})

    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)

    assert caught.value.reason.count(";") == 3
    assert caught.value.reason.endswith("and 2 more")


def test_reason_does_not_echo_the_comment_text():
    raw = _raw({**FEEDBACK, "comment": "my phone is 138-0000-0000 " + "x" * 2000})

    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)

    assert "138-0000-0000" not in caught.value.reason


@pytest.mark.parametrize(("raw", "value"), [
    (_raw({**CALL, "event_type": "C-777001"}), "C-777001"),
    (_raw({**FEEDBACK, "score": 7}), "7"),
    (_raw({**CALL, "occurred_at": "2024-05-02T12:00:01Z"}), "2024-05-02T12"),
    (_raw({**CALL, "occurred_at": "2024-05-01T10:00:0٣Z"}), "0٣"),  # a non-ASCII digit: fromisoformat quotes it
], ids=["tag", "score", "future-time", "unparsable-time"])
def test_reasons_name_the_rule_never_the_value(raw, value):
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, now=NOW)

    assert value not in caught.value.reason


def test_a_field_name_cannot_forge_a_line_or_colour_the_console():
    raw = _raw({**CALL, "x\n[2025-01-01 00:00:00] INFO all good\x1b[2J\u202e": 1})

    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)

    reason = caught.value.reason
    assert reason == "x\\x0a[2025-01-01 00:00:00] INFO all good\\x1b[2J\\u202e: unknown field (not in the event contract)"
    assert reason.isprintable()


def test_a_huge_field_name_is_cut():
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw({**CALL, "k" * 100_000: 1}))

    assert len(caught.value.reason) < 200


@pytest.mark.parametrize("moment", ["1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00", "9999-12-31T23:59:59Z",
                                    "9999-12-31T18:59:59-05:00", "9999-12-31T23:59:59.000000Z"])
def test_the_ends_of_the_time_range_are_valid(moment):
    event = parse_event(_raw({**TICKET, "occurred_at": moment, "due_at": moment}))

    assert event.occurred_at == event.due_at
    datetime.fromtimestamp(event.due_at.timestamp(), UTC)  # what the worker and the read API do with it

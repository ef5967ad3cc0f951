"""The committed JSON Schema files match the models and judge events as parse_event does."""

import json

import pytest
from jsonschema import Draft202012Validator

from cxpulse.schemas import InvalidEvent, parse_event
from cxpulse.schemas.export import SCHEMA_DIR, render_schemas, stale_schemas

from .examples import ACCOUNT, CALL, FEEDBACK, TICKET, VALID


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_schema_files_are_not_stale():
    assert stale_schemas() == []


def test_every_model_has_a_committed_file():
    assert sorted(render_schemas()) == sorted(path.name for path in SCHEMA_DIR.glob("*.schema.json"))


def test_date_time_format_is_really_checked():
    # Without rfc3339-validator installed, jsonschema silently skips format: date-time.
    assert "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers


@pytest.mark.parametrize("example", [event for _, event in VALID], ids=[name for name, _ in VALID])
def test_valid_examples_validate_against_the_event_schema(example):
    errors = list(_validator("event").iter_errors(example))

    assert errors == []


@pytest.mark.parametrize(
    ("name", "example"), [("call-event", CALL), ("ticket-event", TICKET), ("feedback-event", FEEDBACK),
                          ("account-event", ACCOUNT)]
)
def test_each_type_validates_against_its_own_schema(name, example):
    assert list(_validator(name).iter_errors(example)) == []


INVALID = [
    ("missing-field", {k: v for k, v in CALL.items() if k != "outcome"}),
    ("wrong-type", {**CALL, "wait_seconds": "42"}),
    ("unknown-event-type", {**CALL, "event_type": "chat"}),
    ("bad-customer-id", {**CALL, "customer_id": "a@b.example"}),
    ("unknown-field", {**CALL, "phone_number": "123"}),
    ("naive-timestamp", {**CALL, "occurred_at": "2024-05-01T10:00:00"}),
    ("not-a-timestamp", {**CALL, "occurred_at": "yesterday"}),
    ("over-long-comment", {**FEEDBACK, "comment": "x" * 2001}),
    ("csat-out-of-range", {**FEEDBACK, "score": 6}),
    ("nps-out-of-range", {**FEEDBACK, "survey": "nps", "score": 11}),
    ("ces-out-of-range", {**FEEDBACK, "survey": "ces", "score": 0}),
    ("score-missing", {k: v for k, v in FEEDBACK.items() if k != "score"}),
    ("score-on-comment", {**FEEDBACK, "survey": "comment"}),
    ("negative-wait", {**CALL, "wait_seconds": -1}),
    ("unknown-account-action", {**ACCOUNT, "action": "deleted"}),
    ("account-reason-too-long", {**ACCOUNT, "reason": "r" * 65}),
    ("account-reason-free-text", {**ACCOUNT, "reason": "call me on 0123!"}),
    ("account-with-a-score", {**ACCOUNT, "score": 3}),
    ("not-an-object", ["call"]),
    ("service-type-newline", {**CALL, "service_type": "bill\ning"}),
    ("service-type-ansi", {**CALL, "service_type": "\x1b[31mbilling"}),
    ("service-type-bidi", {**CALL, "service_type": "\u202ebilling"}),
]


@pytest.mark.parametrize("example", [event for _, event in INVALID], ids=[name for name, _ in INVALID])
def test_invalid_events_fail_the_schema_and_parse_event_alike(example):
    assert list(_validator("event").iter_errors(example)) != []
    with pytest.raises(InvalidEvent):
        parse_event(json.dumps(example))


def test_output_schemas_accept_what_the_models_write():
    from cxpulse.schemas import Alert, ScoreSnapshot, dead_letter

    alert = Alert(
        alert_id="a1", rule="incident", severity="critical", customer_id=None, service_type="outage",
        segment=None, score=None, risk_band=None, triggered_at="2024-05-01T10:00:00Z",
        emitted_at="2024-05-01T10:00:02.5+00:00", summary="25 customers", evidence=["e1", "e2"],
    )  # fmt: skip
    snapshot = ScoreSnapshot(
        customer_id="C-1", score=71.5, risk_band="healthy", sensitive=False, open_tickets=1,
        updated_at="2024-05-01T10:00:00+08:00", events_seen=3,
    )  # fmt: skip
    letter = dead_letter("x: bad", b"\xff", source_topic="cx.events", partition=1, offset=2, key=b"C-1")

    for name, model in (("alert", alert), ("score-snapshot", snapshot), ("dead-letter", letter)):
        assert list(_validator(name).iter_errors(model.model_dump(mode="json"))) == [], name

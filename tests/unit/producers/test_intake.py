"""Bodies become items; items become accepted records or rejections that never quote values."""

import time

import orjson
import pytest

from cxpulse.producers.intake import Accepted, BadBody, Rejected, check_item, decode_body

NOW = time.time()
SECRET_ID = "C-7f3a9c"  # a customer id that must never be echoed in a reason
EVENT = {
    "event_id": "e-1", "event_type": "feedback", "customer_id": SECRET_ID, "occurred_at": "2024-05-01T10:00:00Z",
    "channel": "web", "service_type": "billing", "survey": "csat", "score": 2, "comment": "the engineer never came",
}  # fmt: skip


def check(**changes) -> Accepted | Rejected:
    event = {**EVENT, **changes}
    event = {key: value for key, value in event.items() if value is not ...}
    return check_item(3, event, NOW, 86400)


def test_a_valid_item_becomes_a_keyed_record():
    result = check()

    assert isinstance(result, Accepted)
    assert (result.index, result.key, result.identity) == (3, SECRET_ID.encode(), (SECRET_ID, "e-1"))
    assert orjson.loads(result.value) == EVENT


@pytest.mark.parametrize(
    ("changes", "field", "reason_part"),
    [
        ({"score": 9}, "score", "csat score must be 1..5"),
        ({"score": "2"}, "score", "integer"),
        ({"event_type": SECRET_ID}, "event_type", "must be one of"),
        ({"event_type": ...}, "event_type", "required"),
        ({"customer_id": SECRET_ID + "@mail"}, "customer_id", "pattern"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "after the time it was received"),
        ({"occurred_at": "2024-02-30T00:00:00Z"}, "occurred_at", "not a valid date"),
        ({"comment": "x" * 2001}, "comment", "at most 2000"),
        ({"loyalty": 1}, "loyalty", "unknown field"),
        ({SECRET_ID: 1}, "<field>", "unknown field"),
        ({"channel": ...}, "channel", "required"),
        ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at", "between 1970-01-01T00:00:00Z and 9999"),
        ({"service_type": "bill\x1b[31m\ning"}, "service_type", "must not contain control characters"),
    ],
)
def test_rejections_name_field_and_rule(changes, field, reason_part):
    result = check(**changes)

    assert isinstance(result, Rejected) and result.index == 3
    assert [error.field for error in result.errors] == [field]
    assert reason_part in result.errors[0].reason


@pytest.mark.parametrize("item", [5, "event", None, [EVENT], True])
def test_an_item_that_is_not_an_object_is_rejected_as_a_whole(item):
    result = check_item(0, item, NOW, 86400)

    assert isinstance(result, Rejected)
    assert [(e.field, e.reason) for e in result.errors] == [("event", "each event must be a JSON object")]


def test_reasons_never_quote_values():
    cases = [
        check(event_type=SECRET_ID), check(customer_id=SECRET_ID + "!"), check(score=SECRET_ID),
        check(occurred_at=SECRET_ID), check(comment=["the engineer never came"]), check(**{SECRET_ID: SECRET_ID}),
        check(segment="the engineer never came"), check(occurred_at="2999-01-01T00:00:00Z"),
    ]  # fmt: skip

    for result in cases:
        assert isinstance(result, Rejected)
        text = repr(result.errors)
        assert SECRET_ID not in text and "engineer" not in text and "2999" not in text


def test_many_errors_are_capped():
    result = check_item(0, {"event_type": "call", **{f"x{n}": n for n in range(50)}}, NOW, 86400)

    assert isinstance(result, Rejected) and len(result.errors) == 10


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the body is empty"),
        (b"  ", "the body is empty"),
        (b"{", "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[" * 2000 + b"]" * 2000, "not valid JSON"),
        (b"42", "a JSON object (one event) or an array"),
        (b'"x"', "a JSON object (one event) or an array"),
        (b"null", "a JSON object (one event) or an array"),
        (b"[]", "the array is empty"),
        (b"[1,2,3,4]", "at most 3 per request"),
    ],
)
def test_bad_bodies(body, reason):
    with pytest.raises(BadBody) as raised:
        decode_body(body, max_items=3)

    assert reason in raised.value.reason


def test_bad_body_reasons_do_not_quote_the_body():
    with pytest.raises(BadBody) as raised:
        decode_body(b'{"customer_id": "' + SECRET_ID.encode() + b'" oops}', 3)

    assert SECRET_ID not in raised.value.reason


def test_an_object_is_one_item_and_an_array_its_items():
    assert decode_body(b'{"a": 1}', 3) == [{"a": 1}]
    assert decode_body(b'[{"a": 1}, 2, "x"]', 3) == [{"a": 1}, 2, "x"]


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [254, 255, 1000])
def test_nesting_deeper_than_orjson_writes_rejects_the_item_not_the_request(depth):
    in_a_field = check(related_ticket_id=_nested(depth))
    alone = check_item(0, _nested(depth), NOW, 86400)

    assert isinstance(in_a_field, Rejected) and isinstance(alone, Rejected)
    assert [e.field for e in in_a_field.errors] == ["related_ticket_id"]
    assert [e.field for e in alone.errors] == ["event"]

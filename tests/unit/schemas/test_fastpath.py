"""The fast validator behind ``parse_event`` against the exact one it stands in for.

Two claims (schemas/fastpath.py): whatever the fast validator accepts, the exact
validator (``EventAdapter``, the models with their Python rules) accepts with an identical
result; and ``parse_event`` — fast first, exact when the fast one refuses — gives exactly
the verdict and reason of the exact validator alone, as ``parse_event`` did before. Checked
on generated input, valid and invalid, aimed at the three rules the fast path re-expresses:
timestamps, service types and the feedback score per survey.
"""

import json
import os
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cxpulse.schemas import EventAdapter, InvalidEvent, parse_event
from cxpulse.schemas import events as events_module
from cxpulse.schemas.events import _utf8_problem, describe_errors

from .examples import ACCOUNT, CALL, FEEDBACK, TICKET, VALID

EXAMPLES = settings(max_examples=int(os.environ.get("CXPULSE_HYPOTHESIS_EXAMPLES", "300")),
                    suppress_health_check=[HealthCheck.too_slow], deadline=None)
FAST = events_module._FAST


def exact_parse(raw: bytes) -> Any:
    """``parse_event`` as it was before the fast path: the exact validator alone."""
    try:
        return EventAdapter.validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(_utf8_problem(raw) or describe_errors(exc)) from None


def outcome(parse, raw: bytes) -> tuple:
    """What a parse gives, comparably: the event in full detail, or the reason."""
    try:
        event = parse(raw)
    except InvalidEvent as exc:
        return ("invalid", exc.reason)
    return ("valid", *_detail(event))


def _detail(event: Any) -> tuple:
    values = tuple((name, value, type(value), type(value.tzinfo) if isinstance(value, datetime) else None)
                   for name, value in event.__dict__.items())
    return type(event), values, frozenset(event.model_fields_set)


def _same_as_exact(raw: bytes) -> None:
    assert outcome(parse_event, raw) == outcome(exact_parse, raw)
    if FAST is not None:
        try:
            fast = FAST.validate_json(raw)
        except ValidationError:
            return
        assert _detail(fast) == _detail(EventAdapter.validate_json(raw))  # fast accepts only what exact accepts


def test_the_fast_validator_is_in_use():
    # If the self-check refused it on this pydantic, parse_event is still correct, only slower.
    assert FAST is not None


DIGIT = st.sampled_from("0123456789") | st.sampled_from("٣۵१৩")  # ASCII mostly, other decimal digits too


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.lists(DIGIT, min_size=n, max_size=n).map("".join)


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda v: f"{v:02d}") | _digits(2)


TIMESTAMPS = st.one_of(
    st.builds(
        lambda y, mo, d, sep, h, mi, s, frac, off: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
        st.integers(0, 9999).map(lambda v: f"{v:04d}") | _digits(4),
        _two(0, 13), _two(0, 32), st.sampled_from(["T", "t", " ", "_", "TT"]),
        _two(0, 25), _two(0, 61), _two(0, 61),
        st.one_of(st.just(""), st.integers(0, 12).flatmap(lambda n: _digits(n).map(lambda d: "." + d))),
        st.one_of(st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+0200", "+02", "UTC"]),
                  st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), _two(0, 25), _two(0, 61))),
    ),
    st.text(max_size=40),
    st.integers(-10**12, 10**12),
    st.none(),
)

SERVICE_TYPES = st.one_of(
    st.text(min_size=0, max_size=45),
    st.text(alphabet="aAzZİıẞßΣσς ΐﬃ", min_size=0, max_size=45),
    st.text(alphabet="aZ \t\n\x00\x1b\x7f\x85\x9f\xa0\u2028\u2029\u202a\u202e\u2066\u2069\u200d\ufeff", max_size=12),
    st.integers(),
    st.none(),
)

SCORES = st.one_of(st.integers(-2, 12), st.none(), st.floats(-1, 12), st.booleans(), st.text(max_size=3))


@EXAMPLES
@given(base=st.sampled_from([CALL, TICKET, FEEDBACK, ACCOUNT]), occurred_at=TIMESTAMPS)
@example(base=CALL, occurred_at="2024-05-01T23:59:60Z")
@example(base=CALL, occurred_at="2024-05-01T10:00:00+24:00")
@example(base=CALL, occurred_at="2024-02-30T10:00:00Z")
@example(base=CALL, occurred_at="0000-01-01T00:00:00Z")
@example(base=CALL, occurred_at="2024-05-01T10:00:00.1234567890Z")
@example(base=CALL, occurred_at="2024-05-01T10:00:00Z\n")
@example(base=FEEDBACK, occurred_at="0001-01-01T00:00:00+01:00")  # the ends of the range, in UTC
@example(base=CALL, occurred_at="1970-01-01T00:00:00Z")
@example(base=CALL, occurred_at="1970-01-01T00:59:59.999999+01:00")
@example(base=CALL, occurred_at="1969-12-31T23:59:59Z")
@example(base=CALL, occurred_at="9999-12-31T23:59:59Z")
@example(base=CALL, occurred_at="9999-12-31T23:59:59.000001Z")
@example(base=CALL, occurred_at="9999-12-31T23:00:00-05:00")
@example(base=CALL, occurred_at="9999-12-31T18:59:59-05:00")
def test_timestamps(base, occurred_at):
    _same_as_exact(json.dumps({**base, "occurred_at": occurred_at}).encode())


@EXAMPLES
@given(due_at=TIMESTAMPS, action=st.sampled_from(["opened", "updated", "resolved"]))
def test_due_times(due_at, action):
    _same_as_exact(json.dumps({**TICKET, "action": action, "due_at": due_at}).encode())


@EXAMPLES
@given(base=st.sampled_from([CALL, TICKET, FEEDBACK, ACCOUNT]), service_type=SERVICE_TYPES)
@example(base=CALL, service_type="İ" * 40)  # 80 characters once lower-cased
@example(base=CALL, service_type="İ" * 20)
@example(base=CALL, service_type="ΟΔΟΣ")  # final sigma
@example(base=CALL, service_type="B" * 40)
@example(base=CALL, service_type="bill\x1b[31ming")  # printable only
@example(base=CALL, service_type="\u202egnillib")
def test_service_types(base, service_type):
    _same_as_exact(json.dumps({**base, "service_type": service_type}, ensure_ascii=False).encode())


@EXAMPLES
@given(survey=st.sampled_from(["csat", "nps", "ces", "comment", "CSAT", "", None]),
       score=SCORES, with_score=st.booleans(), complaint=st.booleans())
def test_feedback_scores(survey, score, with_score, complaint):
    record = {**FEEDBACK, "survey": survey, "is_complaint": complaint}
    record.pop("score")
    if with_score:
        record["score"] = score
    if survey is None:
        record.pop("survey")
    _same_as_exact(json.dumps(record).encode())


FIELDS = sorted({key for event in (CALL, TICKET, FEEDBACK, ACCOUNT) for key in event} | {
    "segment", "schema_version", "is_complaint", "sentiment", "agent_id", "priority", "due_at", "comment",
    "related_ticket_id", "reason", "unexpected"})
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=10), TIMESTAMPS, st.sampled_from(["inbound", "opened", "csat", "vip", "phone", "cancelled", "account"]))


@EXAMPLES
@given(base=st.sampled_from([CALL, TICKET, FEEDBACK, ACCOUNT]),
       changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4),
       dropped=st.lists(st.sampled_from(FIELDS), max_size=2))
def test_any_record(base, changes, dropped):
    record = {key: value for key, value in {**base, **changes}.items() if key not in dropped}
    _same_as_exact(json.dumps(record).encode())


@pytest.mark.parametrize("example", [event for _, event in VALID], ids=[name for name, _ in VALID])
def test_valid_examples(example):
    _same_as_exact(json.dumps(example, ensure_ascii=False).encode())


@EXAMPLES
@given(raw=st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_any_bytes(raw):
    _same_as_exact(raw)

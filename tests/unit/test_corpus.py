"""The corpus says what parse_event does: every expectation in tests/corpus holds."""

import time

import pytest

from cxpulse.schemas import InvalidEvent, parse_event


def test_the_corpus_covers_every_kind_of_bad_input(event_corpus):
    names = {case.name for case in event_corpus}

    for needed in ("broken_json_truncated", "invalid_utf8", "extra_field", "missing_event_id", "wait_seconds_string",
                   "csat_score_too_high", "occurred_at_far_future", "call_far_past", "comment_huge",
                   "deep_nesting_arrays", "duplicate_second", "occurred_at_year_0_in_utc", "due_at_year_10000_in_utc",
                   "service_type_control_characters"):  # fmt: skip
        assert needed in names
    assert sum(case.valid for case in event_corpus) >= 10
    assert sum(not case.valid for case in event_corpus) >= 40


def test_every_case_is_what_it_claims(event_corpus):
    now = time.time()
    for case in event_corpus:
        if case.valid:
            parse_event(case.raw, now=now)
        else:
            with pytest.raises(InvalidEvent) as raised:
                parse_event(case.raw, now=now)
            if case.field is not None:
                assert case.field in raised.value.reason, case.name
        assert (case.json_object is not None) == (case.field is not None or case.valid), case.name


def test_duplicates_share_customer_and_event_id(event_corpus):
    by_name = {case.name: case for case in event_corpus}
    duplicates = [case for case in event_corpus if case.duplicate_of]

    assert duplicates
    for case in duplicates:
        first = by_name[case.duplicate_of]
        ids = lambda c: (c.json_object["customer_id"], c.json_object["event_id"])  # noqa: E731
        assert ids(case) == ids(first)


def test_records_fit_a_default_kafka_message(event_corpus):
    assert max(len(case.raw) for case in event_corpus) < 1_000_000

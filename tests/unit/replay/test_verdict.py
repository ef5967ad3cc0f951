"""The replay judges a source record with the worker's own rule (``validate_record``)."""

import pytest

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.replay.verdict import read_event
from cxpulse.processors.validation import KEY_MISMATCH, validate_record
from cxpulse.schemas import InvalidEvent

GOOD = (b'{"event_id":"e1","event_type":"feedback","customer_id":"C-1","occurred_at":"2025-03-04T10:00:00Z",'
        b'"channel":"web","service_type":"billing","survey":"csat","score":2}')
FUTURE = GOOD.replace(b"2025-03-04T10:00:00Z", b"2025-03-06T10:00:01Z")
T_READ = 1741082400000  # 2025-03-04T10:00:00Z


def verdict(record: SourceRecord) -> str | None:
    try:
        read_event(record, 86400.0)
    except InvalidEvent as exc:
        return exc.reason
    return None


@pytest.mark.parametrize("record", [
    SourceRecord(0, 0, T_READ, b"C-1", GOOD),
    SourceRecord(0, 1, T_READ, b"C-1", FUTURE),
    SourceRecord(0, 2, T_READ + 2 * 86400_000, b"C-1", FUTURE),
    SourceRecord(0, 3, T_READ, b"C-2", GOOD),
    SourceRecord(0, 5, T_READ, b"C-1", None),
])
def test_the_record_time_in_seconds_is_the_moment_it_was_read(record):
    expected = validate_record(record.key, record.value, record.timestamp / 1000, 86400.0)
    assert verdict(record) == (expected if isinstance(expected, str) else None)


def test_a_key_of_another_customer_is_the_workers_reason():
    assert verdict(SourceRecord(0, 3, T_READ, b"C-2", GOOD)) == KEY_MISMATCH


@pytest.mark.parametrize("value", [GOOD, FUTURE])
def test_event_file_lines_have_no_key_and_use_the_wall_clock(value):
    assert verdict(SourceRecord(None, 1, None, None, value)) is None  # 2025 is in the past


def test_a_line_the_file_reader_could_not_turn_into_json_is_invalid_with_its_reason():
    record = SourceRecord(None, 3, None, None, None, problem="the row has 2 cells, the header has 6")

    assert verdict(record) == "the row has 2 cells, the header has 6"

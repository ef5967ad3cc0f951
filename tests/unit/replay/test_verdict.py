"""The replay's verdict on every record is the live worker's."""

import pytest

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.replay.verdict import read_event
from cxpulse.schemas import InvalidEvent

from .worker_model import LiveModel

GOOD = (b'{"event_id":"e1","event_type":"feedback","customer_id":"C-1","occurred_at":"2025-03-04T10:00:00Z",'
        b'"channel":"web","service_type":"billing","survey":"csat","score":2}')
FUTURE = GOOD.replace(b"2025-03-04T10:00:00Z", b"2025-03-06T10:00:01Z")
T_READ = 1741082400000  # 2025-03-04T10:00:00Z

RECORDS = [
    SourceRecord(0, 0, T_READ, b"C-1", GOOD),
    SourceRecord(0, 1, T_READ, b"C-1", FUTURE),  # more than a day after the record time
    SourceRecord(0, 2, T_READ + 2 * 86400_000, b"C-1", FUTURE.replace(b"e1", b"e2")),  # read later: fine
    SourceRecord(0, 3, T_READ, b"C-2", GOOD.replace(b"e1", b"e3")),  # key is not the customer
    SourceRecord(0, 4, T_READ, None, GOOD.replace(b"e1", b"e4")),  # no key
    SourceRecord(0, 5, T_READ, b"C-1", None),  # tombstone
    SourceRecord(0, 6, T_READ, b"C-1", b"\xff\xfe not utf-8"),
    SourceRecord(0, 7, T_READ, b"C-1", b'{"event_type":"call"}'),
    SourceRecord(0, 8, T_READ, b"C-1", b"[]"),
    SourceRecord(0, 9, T_READ, b"C-1", GOOD.replace(b'"score":2', b'"score":9')),
]


def verdict(record: SourceRecord) -> str | None:
    try:
        read_event(record, 86400.0)
    except InvalidEvent as exc:
        return exc.reason
    return None


def test_same_verdicts_and_reasons_as_the_worker():
    live = LiveModel()
    live.batch(RECORDS)
    worker = {letter["offset"]: letter["error"] for letter in live.dead_letters()}

    ours = {r.offset: verdict(r) for r in RECORDS}

    assert {o: reason for o, reason in ours.items() if reason is not None} == worker
    assert ours[0] is None and ours[2] is None and len(worker) == 8


@pytest.mark.parametrize("value", [GOOD, FUTURE])
def test_event_file_lines_have_no_key_and_use_the_wall_clock(value):
    record = SourceRecord(None, 1, None, None, value)

    assert verdict(record) is None  # 2025 is in the past: nothing is from the future


def test_a_line_the_file_reader_could_not_turn_into_json_is_invalid_with_its_reason():
    record = SourceRecord(None, 3, None, None, None, problem="the row has 2 cells, the header has 6")

    assert verdict(record) == "the row has 2 cells, the header has 6"

"""validate_record: the one rule the worker and the replay judge records of cx.events by."""

import pytest
from pydantic import BaseModel

from cxpulse.processors.validation import KEY_MISMATCH, validate_record
from cxpulse.schemas.fastdecode import equivalent

GOOD = (b'{"event_id":"e1","event_type":"feedback","customer_id":"C-1","occurred_at":"2025-03-04T10:00:00Z",'
        b'"channel":"web","service_type":"billing","survey":"csat","score":2}')
FUTURE = GOOD.replace(b"2025-03-04T10:00:00Z", b"2025-03-06T10:00:01Z")
READ = 1741082400.0  # 2025-03-04T10:00:00Z


@pytest.mark.parametrize("key, value, read_at, reason", [
    (b"C-1", GOOD, READ, None),
    (b"C-1", FUTURE, READ, "occurred_at: more than 86400 s after the time it was read"),
    (b"C-1", FUTURE, READ + 2 * 86400, None),  # read later: fine, whenever it is replayed
    (b"C-2", GOOD, READ, KEY_MISMATCH),  # the key of another customer
    (None, GOOD, READ, KEY_MISMATCH),
    (b"C-1", None, READ, "not valid JSON"),  # a tombstone
    (b"C-1", b"\xff\xfe not utf-8", READ, "not valid UTF-8"),
    (b"C-1", b'{"event_type":"call"}', READ, "event_id: Field required"),
    (b"C-1", b"[]", READ, "the record must be a JSON object"),
    (b"C-1", GOOD.replace(b'"score":2', b'"score":9'), READ, "score: a csat score must be 1..5"),
    (None, GOOD, None, None),  # a plain event file line: no key, the wall clock
    (None, FUTURE, None, None),  # 2025 is in the past by the wall clock
])
def test_verdicts(key, value, read_at, reason):
    verdict = validate_record(key, value, read_at, 86400.0)
    fast = validate_record(key, value, read_at, 86400.0, fast=True)
    if reason is None:
        assert not isinstance(verdict, str) and verdict.event_id == "e1"
        # The hot path's event: the decoder's struct, reading exactly as the model.
        assert not isinstance(fast, (str, BaseModel)) and equivalent(fast, verdict)
    else:
        assert isinstance(verdict, str) and verdict.startswith(reason)
        assert fast == verdict  # the same reason, word for word


def test_reasons_never_echo_the_customer_id():
    assert "C-2" not in validate_record(b"C-2", GOOD, READ, 86400.0)

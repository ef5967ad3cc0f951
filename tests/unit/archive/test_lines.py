"""The archive line format: lossless for every key, value and header."""

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxpulse.processors.archive import (
    ArchiveLineError,
    SourceRecord,
    decode_line,
    encode_line,
)
from cxpulse.processors.archive import lines as lines_module


@pytest.mark.parametrize("record", [
    SourceRecord(0, 41, 1741564800123, b"C-1234", b'{"event_id":"e1"}'),
    SourceRecord(2, 0, 0, None, None),
    SourceRecord(1, 7, 5, b"\xff\xfe", b"\x00\x9f binary", (("source", b"crm"), ("trace", b"\xc3\x28"), ("n", None))),
    SourceRecord(3, 9, 1, b"k", "caf\u00e9 \u5ba2\u6237".encode(), timestamp_type=1),
], ids=["text", "tombstone", "binary", "unicode"])
def test_round_trip_gives_back_the_exact_bytes(record):
    decoded = decode_line(encode_line(record))

    assert (decoded.partition, decoded.offset, decoded.timestamp, decoded.timestamp_type) == (
        record.partition, record.offset, record.timestamp, record.timestamp_type)
    assert decoded.key == record.key
    assert decoded.value_bytes() == record.value
    assert decoded.headers == record.headers


def test_a_line_is_one_json_object_with_text_or_base64():
    line = encode_line(SourceRecord(0, 3, 10, b"C-1", b"\xff", (("h", b"v"),)))

    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert orjson.loads(line) == {"partition": 0, "offset": 3, "timestamp": 10, "timestamp_type": 0, "key": "C-1",
                                  "headers": [{"key": "h", "value": "v"}], "value": "/w==",
                                  "value_encoding": "base64"}


def test_text_values_stay_text_for_the_parser():
    record = decode_line(encode_line(SourceRecord(0, 0, 0, b"C", b'{"a":1}')))

    assert record.value == '{"a":1}'


@pytest.mark.parametrize("line", [b"not json", b"{}", b'{"partition":0}', b"[1,2]",
                                  b'{"partition":0,"offset":1,"timestamp":2,"key":null,"headers":[],'
                                  b'"value":"@@","value_encoding":"base64"}'])
def test_a_line_that_is_not_an_archive_record_is_refused(line):
    with pytest.raises(ArchiveLineError):
        decode_line(line)


# --- the common line's fast decoder against the general one --------------------------------

_BYTES = st.none() | st.binary(max_size=12) | st.text(max_size=12).map(str.encode)
_RECORDS = st.builds(SourceRecord, st.integers(0, 2**31), st.integers(0, 2**62), st.integers(0, 2**50),
                     _BYTES, _BYTES, st.lists(st.tuples(st.text(max_size=5), _BYTES), max_size=2).map(tuple),
                     st.sampled_from([0, 1]))
_ODD = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=6),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_KEYS = ["partition", "offset", "timestamp", "timestamp_type", "key", "value", "headers", "key_encoding",
         "value_encoding", "other"]


def _outcome(decode, line: bytes) -> tuple:
    try:
        record = decode(line)
    except ArchiveLineError as exc:
        return ("error", str(exc))
    return ("record", tuple(record), tuple(type(v) for v in record))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=_RECORDS, changes=st.dictionaries(st.sampled_from(_KEYS), _ODD, max_size=2),
       dropped=st.lists(st.sampled_from(_KEYS), max_size=1))
def test_the_fast_decoder_gives_exactly_what_the_general_one_gives(record, changes, dropped):
    obj = {**orjson.loads(encode_line(record)), **changes}
    for key in dropped:
        obj.pop(key, None)
    try:
        line = orjson.dumps(obj) + b"\n"
    except TypeError:  # orjson refuses integers beyond 64 bits; the line can still exist as text
        import json
        line = json.dumps(obj).encode() + b"\n"
    assert _outcome(decode_line, line) == _outcome(lines_module._decode_any, line)


def test_plain_lines_take_the_fast_decoder(monkeypatch):
    def refuse(line):
        raise AssertionError("the general decoder was used")

    monkeypatch.setattr(lines_module, "_decode_any", refuse)
    assert decode_line(encode_line(SourceRecord(0, 41, 1741564800123, b"C-1", b'{"a":1}'))).key == b"C-1"


@pytest.mark.parametrize("line", [
    b'{"partition":0,"offset":1,"timestamp":2,"key":"QQ==","key_encoding":null,"headers":[],"value":"v"}',
    b'{"partition":0,"offset":1,"timestamp":2,"key":"k","headers":[],"value":"QQ==","value_encoding":null}',
    b'{"partition":0,"offset":1,"timestamp":2,"key":"k","headers":{},"value":"v"}',
    b'{"partition":0,"offset":1,"timestamp":2,"key":"k","headers":[],"value":"v","timestamp_type":null}',
    b'{"partition":true,"offset":1,"timestamp":2,"key":"k","headers":[],"value":"v"}',
    b'{"partition":0,"offset":18446744073709551615,"timestamp":2,"key":"k","headers":[],"value":"v"}',
    b'{"partition":0,"offset":18446744073709551616,"timestamp":2,"key":"k","headers":[],"value":"v"}',
], ids=["null-key-encoding", "null-value-encoding", "headers-object", "null-timestamp-type", "bool-partition",
        "uint64-offset", "beyond-uint64"])
def test_lines_at_the_edges_of_the_fast_decoder(line):
    assert _outcome(decode_line, line) == _outcome(lines_module._decode_any, line)

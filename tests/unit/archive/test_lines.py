"""The archive line format: lossless for every key, value and header."""

import orjson
import pytest

from cxpulse.processors.archive import ArchiveLineError, SourceRecord, decode_line, encode_line


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

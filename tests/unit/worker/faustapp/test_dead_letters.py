"""A dead letter always fits its topic (issue 14): JSON escaping and size are bounded, the original is identified."""

import base64
import hashlib

import orjson
import pytest

from cxpulse.processors.worker.records import dead_letter_record
from cxpulse.schemas import DeadLetter
from cxpulse.schemas.outputs import DEAD_LETTER_KEY_MAX, DEAD_LETTER_RAW_MAX
from cxpulse.topics import DLQ_MAX_MESSAGE_BYTES, OUTPUT_MAX_MESSAGE_BYTES
from faust.types.tuples import Message


def _letter(value: bytes, key: bytes | None = b"C-1") -> tuple[bytes, DeadLetter]:
    message = Message("cx.events", 2, 77, 0.0, 0, None, key, value, None)
    data = dead_letter_record("not JSON", message)
    return data, DeadLetter.model_validate(orjson.loads(data))


@pytest.mark.parametrize("byte", [b"\x01", b'"', b"\\", b"\xff", b"a"])
def test_the_largest_record_of_a_1_mib_topic_fits_whole(byte):
    value = byte * OUTPUT_MAX_MESSAGE_BYTES
    data, letter = _letter(value, key=byte * 1000)
    assert len(data) < DLQ_MAX_MESSAGE_BYTES - 1024  # 1,000,000 bytes of 0x01 were a 6,000,084-byte letter
    assert letter.raw_truncated is None and letter.raw_size is None and letter.raw_sha256 is None
    raw = base64.b64decode(letter.raw) if letter.raw_encoding == "base64" else letter.raw.encode("utf-8")
    assert raw == value


def test_control_characters_go_as_base64_plain_text_as_text():
    assert _letter(b"\x01\x02" * 10)[1].raw_encoding == "base64"
    letter = _letter(b'{"event_id": "e-1"}')[1]
    assert letter.raw_encoding is None and letter.raw == '{"event_id": "e-1"}'


def test_a_larger_value_is_cut_with_its_size_and_digest():
    value = bytes(range(256)) * 40_000  # 10,240,000 bytes
    data, letter = _letter(value)
    assert len(data) < DLQ_MAX_MESSAGE_BYTES
    assert letter.raw_truncated is True and letter.raw_size == len(value)
    assert letter.raw_sha256 == hashlib.sha256(value).hexdigest()
    assert len(letter.raw) <= DEAD_LETTER_RAW_MAX
    kept = base64.b64decode(letter.raw)
    assert value.startswith(kept) and len(kept) > 1_500_000


def test_a_long_key_is_cut_and_its_size_kept():
    data, letter = _letter(b"x", key=b"\x01" * 900_000)
    assert letter.key_size == 900_000 and len(letter.key.encode("utf-8")) == DEAD_LETTER_KEY_MAX
    assert len(data) < 10_000


def test_nothing_cut_means_no_new_fields_in_the_record():
    data, _ = _letter(b"{}")
    assert set(orjson.loads(data)) == {"error", "source_topic", "partition", "offset", "key", "raw"}

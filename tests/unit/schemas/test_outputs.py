"""dead_letter keeps the original value: as text when it is UTF-8, as base64 otherwise."""

import base64
import json

import pytest

from cxpulse.schemas import DeadLetter, dead_letter


def test_utf8_value_is_kept_as_text():
    letter = dead_letter("x: bad", "{\"a\": \"客户\"}".encode(), source_topic="cx.events", partition=3, offset=41, key=b"C-1")

    assert letter.raw == '{"a": "客户"}'
    assert letter.raw_encoding is None
    assert (letter.source_topic, letter.partition, letter.offset, letter.key) == ("cx.events", 3, 41, "C-1")


def test_non_utf8_value_is_base64_and_decodes_back():
    raw = b"\xff\xfe\x00binary"

    letter = dead_letter("not valid UTF-8", raw, source_topic="cx.events", partition=0, offset=0, key=None)

    assert letter.raw_encoding == "base64"
    assert base64.b64decode(letter.raw) == raw
    assert letter.key is None


def test_non_utf8_key_is_replaced_not_fatal():
    letter = dead_letter("bad", b"{}", source_topic="t", partition=None, offset=None, key=b"\xffC")

    assert letter.key == "\ufffdC"


def test_empty_value_is_empty_text():
    assert dead_letter("empty", b"", source_topic="t", partition=0, offset=0, key=None).raw == ""


def test_serialised_form_has_the_contract_fields():
    letter = dead_letter("x", b"\x80", source_topic="cx.events", partition=1, offset=2, key=b"k")

    assert set(json.loads(letter.model_dump_json())) == {
        "error", "source_topic", "partition", "offset", "key", "raw", "raw_encoding", "source",
        "raw_truncated", "raw_size", "raw_sha256", "key_size",  # set only when something was cut (issue 14)
    }  # fmt: skip


def test_the_topic_value_keeps_a_null_key_and_leaves_unset_options_out():
    from cxpulse.schemas import dead_letter_json

    letter = dead_letter("x", b"{}", source_topic="cx.events", partition=1, offset=2, key=None)
    assert json.loads(dead_letter_json(letter)) == {"error": "x", "source_topic": "cx.events", "partition": 1,
                                                    "offset": 2, "key": None, "raw": "{}"}  # fmt: skip
    mapped = dead_letter("y", b"\x80", source_topic="raw", partition=None, offset=None, key=b"k", source="zendesk")
    assert json.loads(dead_letter_json(mapped))["source"] == "zendesk"
    assert DeadLetter.model_validate_json(dead_letter_json(mapped)) == mapped


def test_a_dead_letter_needs_a_reason():
    with pytest.raises(ValueError):
        DeadLetter(error="", source_topic="t", partition=0, offset=0, key=None, raw="")

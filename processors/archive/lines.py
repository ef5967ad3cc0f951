"""The archive's line format: one JSON object per Kafka record, lossless.

    {"partition":0,"offset":41,"timestamp":1741564800123,"timestamp_type":0,
     "key":"C-1234","headers":[{"key":"source","value":"crm"}],"value":"{\\"event_id\\":...}"}

``key``, ``value`` and each header value are text when they are UTF-8, else base64
with ``"key_encoding"``/``"value_encoding"``/``"encoding": "base64"`` beside them (as on
the dead-letter topic); ``null`` when absent. Decoding gives back the exact bytes.
"""

import base64
from typing import Annotated, Any

import msgspec
import orjson

from cxpulse.errors import CxpulseError

from .record import Header, SourceRecord

__all__ = ["ArchiveLineError", "decode_line", "encode_line"]

BASE64 = "base64"


class ArchiveLineError(CxpulseError):
    """A line that is not an archive record."""


def _text(raw: bytes | None) -> tuple[str | None, bool]:
    """``(text, is_base64)`` for raw bytes."""
    if raw is None:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _header_obj(header: Header) -> dict[str, Any]:
    name, raw = header
    text, b64 = _text(raw)
    return {"key": name, "value": text, "encoding": BASE64} if b64 else {"key": name, "value": text}


def encode_line(record: SourceRecord) -> bytes:
    """The archive line of ``record``, with its trailing newline."""
    key, key_b64 = _text(record.key)
    value, value_b64 = _text(record.value_bytes())
    line: dict[str, Any] = {
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": record.timestamp_type,
        "key": key,
        "headers": [_header_obj(h) for h in record.headers],
        "value": value,
    }
    if key_b64:
        line["key_encoding"] = BASE64
    if value_b64:
        line["value_encoding"] = BASE64
    return orjson.dumps(line) + b"\n"


_Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]  # orjson reads up to 2**64 - 1: the rest goes the general way


class _Plain(msgspec.Struct, gc=False):
    """The common line: text key and value, no headers (what a replay reads millions of)."""

    partition: _Int
    offset: _Int
    timestamp: _Int | None
    key: str | None
    value: str | None
    headers: list[Any]
    timestamp_type: _Int = 0
    key_encoding: Any = msgspec.UNSET  # present at all (even null): not the common line
    value_encoding: Any = msgspec.UNSET


_plain = msgspec.json.Decoder(_Plain).decode
_record = tuple.__new__  # a named tuple without its Python-level __new__


def decode_line(line: bytes | str) -> SourceRecord:
    """The record an archive line holds; raises :class:`ArchiveLineError` when it is not one."""
    # The common line through msgspec (typed, one pass, no dict): the same record as
    # _decode_any gives, which takes everything else (encodings, headers, odd types, errors).
    try:
        o = _plain(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _decode_any(line)
    if o.headers or o.key_encoding is not msgspec.UNSET or o.value_encoding is not msgspec.UNSET:
        return _decode_any(line)
    key = o.key
    return _record(SourceRecord, (o.partition, o.offset, o.timestamp, None if key is None else key.encode("utf-8"),
                                  o.value, (), o.timestamp_type, None))


def _decode_any(line: bytes | str) -> SourceRecord:
    try:
        obj = orjson.loads(line)
        value = obj["value"]
        if "value_encoding" in obj:
            value = base64.b64decode(value, validate=True)
        key = obj["key"]
        key = None if key is None else (
            base64.b64decode(key, validate=True) if "key_encoding" in obj else key.encode("utf-8"))
        headers = tuple(_header(h) for h in obj["headers"]) if obj["headers"] else ()
        return SourceRecord(obj["partition"], obj["offset"], obj["timestamp"], key, value,
                            headers, obj.get("timestamp_type", 0))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArchiveLineError(f"not an archive line ({type(exc).__name__}: {exc})") from None


def _header(obj: dict[str, Any]) -> Header:
    value = obj["value"]
    if value is not None:
        value = base64.b64decode(value, validate=True) if obj.get("encoding") == BASE64 else value.encode("utf-8")
    return obj["key"], value

"""The archive's line format: one JSON object per Kafka record, lossless.

    {"partition":0,"offset":41,"timestamp":1741564800123,"timestamp_type":0,
     "key":"C-1234","headers":[{"key":"source","value":"crm"}],"value":"{\\"event_id\\":...}"}

``key``, ``value`` and each header value are text when they are UTF-8, else base64
with ``"key_encoding"``/``"value_encoding"``/``"encoding": "base64"`` beside them (as on
the dead-letter topic); ``null`` when absent. Decoding gives back the exact bytes.
"""

import base64
from typing import Any

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


def decode_line(line: bytes | str) -> SourceRecord:
    """The record an archive line holds; raises :class:`ArchiveLineError` when it is not one."""
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

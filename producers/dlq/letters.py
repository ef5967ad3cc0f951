"""One dead letter as ``cxpulse dlq`` sees it, and the filters that choose some."""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.schemas import DeadLetter

__all__ = ["Letter", "Selection", "parse_letter", "raw_bytes"]


@dataclass(frozen=True)
class Letter:
    """A record of the dead-letter topic: where it is, when it was written, and its letter.

    ``letter`` is ``None`` when the record is not a dead letter at all (``problem`` says why).
    """

    partition: int
    offset: int
    timestamp_ms: int | None
    letter: DeadLetter | None
    problem: str | None = None

    @property
    def position(self) -> str:
        """``partition:offset`` in the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        return self.letter.error if self.letter is not None else f"(not a dead letter: {self.problem})"

    @property
    def source(self) -> str | None:
        return self.letter.source if self.letter is not None else None

    def written_at(self) -> str:
        """The record's Kafka timestamp as RFC 3339 (UTC), or ``-``."""
        if not self.timestamp_ms:
            return "-"
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="seconds")

    def origin(self) -> str:
        """Where the original record was: ``topic partition:offset``, or the webhook path."""
        letter = self.letter
        if letter is None:
            return "-"
        if letter.partition is None or letter.offset is None:
            return letter.source_topic
        return f"{letter.source_topic} {letter.partition}:{letter.offset}"


def parse_letter(record: SourceRecord) -> Letter:
    """The :class:`Letter` of one dead-letter record; a record that is no letter is kept, marked."""
    try:
        data = orjson.loads(record.value_bytes() or b"")
        if isinstance(data, dict):  # letters written before dead_letter_json left out a null key
            for name in ("partition", "offset", "key"):
                data.setdefault(name, None)
        letter = DeadLetter.model_validate(data)
    except (orjson.JSONDecodeError, ValidationError):
        return Letter(record.partition or 0, record.offset or 0, record.timestamp, None, "not a dead-letter record")
    return Letter(record.partition or 0, record.offset or 0, record.timestamp, letter)


def raw_bytes(letter: DeadLetter) -> bytes:
    """The original record's value, exactly (base64-decoded when it was not UTF-8)."""
    if letter.raw_encoding == "base64":
        try:
            return base64.b64decode(letter.raw, validate=True)
        except (binascii.Error, ValueError):
            return b""
    return letter.raw.encode("utf-8")


@dataclass(frozen=True)
class Selection:
    """Which letters: ``reason`` (text the reason contains, any case), ``source`` (the mapping; ``-``
    for letters of invalid events, which name none), ``origin_topic`` (the record's original topic)."""

    reason: str | None = None
    source: str | None = None
    origin_topic: str | None = None

    def matches(self, letter: Letter) -> bool:
        if self.reason is not None and self.reason.lower() not in letter.reason.lower():
            return False
        if self.source is not None and (letter.source or "-") != self.source:
            return False
        return self.origin_topic is None or (letter.letter is not None and letter.letter.source_topic == self.origin_topic)

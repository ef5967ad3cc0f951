"""One Kafka record as the archive, replay and republishing see it."""

from typing import NamedTuple

__all__ = ["Header", "SourceRecord"]

Header = tuple[str, bytes | None]


class SourceRecord(NamedTuple):
    """A record of ``cx.events``: where it was, when it was written, and its raw bytes.

    ``value`` is the raw value: ``bytes``, or ``str`` when it came from an archive line
    as UTF-8 text (the same bytes once encoded; ``parse_event`` takes either).
    ``timestamp`` is the Kafka record timestamp in milliseconds, the moment the live
    worker takes as "now" when it checks for events from the future; ``None`` for
    events read from a plain event file, where ``partition`` is ``None`` too and ``offset``
    is the line number. (A named tuple: replay builds one per record, and a tuple is
    several times cheaper to build than a frozen dataclass.)
    """

    partition: int | None
    offset: int | None
    timestamp: int | None
    key: bytes | None
    value: bytes | str | None
    headers: tuple[Header, ...] = ()
    timestamp_type: int = 0  # 0 CreateTime, 1 LogAppendTime
    problem: str | None = None  # why a file's line could not even become a value (bad CSV row)

    def value_bytes(self) -> bytes | None:
        """The value exactly as it was on the topic."""
        value = self.value
        return value.encode("utf-8") if isinstance(value, str) else value

    @classmethod
    def from_consumer(cls, record) -> "SourceRecord":
        """From a kafka-python ``ConsumerRecord`` (raw bytes, no deserializers)."""
        return cls(record.partition, record.offset, record.timestamp, record.key, record.value,
                   tuple(record.headers or ()), record.timestamp_type or 0)

"""Reading the dead-letter topic over a time range (the records' Kafka timestamps), in time order."""

from collections.abc import Iterator

from cxpulse.processors.replay.kafka_source import KafkaRangeReader
from cxpulse.processors.replay.ranges import merge_partitions
from cxpulse.processors.replay.timerange import TimeRange
from cxpulse.settings import Settings

from .letters import Letter, parse_letter

__all__ = ["read_letters"]


def read_letters(settings: Settings, topic: str, window: TimeRange) -> Iterator[Letter]:
    """Every record of ``topic`` written in ``[since, until)`` up to its end when this starts."""
    with KafkaRangeReader(settings.kafka, topic) as reader:
        ranges = reader.plan(reader.partitions(), window.since_ms(), window.until_ms())
        for record in merge_partitions(reader.streams(ranges)):
            yield parse_letter(record)

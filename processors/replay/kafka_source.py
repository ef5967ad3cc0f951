"""Reading a time range of a topic: offsets looked up by timestamp, partitions read side by side.

One consumer (no group) reads every partition of the range; each partition is an
iterator of its records in offset order, so :func:`merge_partitions` can interleave them
by timestamp. Partitions that run ahead are paused, so memory stays bounded.
"""

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from cxpulse.errors import BrokerError
from cxpulse.processors.archive.kafka import open_consumer, topic_partitions
from cxpulse.processors.archive.record import SourceRecord
from cxpulse.settings import KafkaSettings

from .ranges import PartitionRange, key_partition, plan_ranges

__all__ = ["KafkaRangeReader"]

AHEAD = 50_000  # records buffered for one partition before it is paused
POLL_MS = 500


class KafkaRangeReader:
    """Reads ``[since, until)`` of ``topic``; use as a context manager."""

    def __init__(self, kafka: KafkaSettings, topic: str, on_records: Callable[[int], None] | None = None) -> None:
        self.topic = topic
        self.on_records = on_records
        self._consumer: Any = open_consumer(kafka, None, max_poll_records=10_000)
        self._buffers: dict[int, deque] = {}
        self._stops: dict[int, int] = {}
        self._done: set[int] = set()
        self._paused: set[int] = set()

    def __enter__(self) -> "KafkaRangeReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._consumer.close(autocommit=False)

    def partitions(self, key: bytes | None = None) -> list[int]:
        """Every partition, or only the one the default partitioner gives ``key``."""
        partitions = topic_partitions(self._consumer, self.topic)
        return partitions if key is None else [key_partition(key, len(partitions))]

    def plan(self, partitions: list[int], since_ms: int | None, until_ms: int | None) -> list[PartitionRange]:
        """The offsets ``[since, until)`` means in each partition (see :mod:`.ranges`)."""
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        tps = {p: TopicPartition(self.topic, p) for p in partitions}
        try:
            beginning = {tp.partition: o for tp, o in self._consumer.beginning_offsets(list(tps.values())).items()}
            end = {tp.partition: o for tp, o in self._consumer.end_offsets(list(tps.values())).items()}
            since = None if since_ms is None else self._offsets_at(tps, since_ms)
            until = None if until_ms is None else self._offsets_at(tps, until_ms)
        except KafkaError as exc:
            raise BrokerError(f"cannot look up offsets of {self.topic}: {exc}") from None
        return plan_ranges(beginning, end, since, until)

    def _offsets_at(self, tps: dict, ms: int) -> dict[int, int | None]:
        found = self._consumer.offsets_for_times({tp: max(ms, 0) for tp in tps.values()})
        return {tp.partition: (None if hit is None else hit.offset) for tp, hit in found.items()}

    def streams(self, ranges: list[PartitionRange]) -> list[Iterator[SourceRecord]]:
        """One iterator per non-empty partition range, all fed by this reader's consumer."""
        from kafka import TopicPartition

        wanted = [r for r in ranges if r.size]
        self._consumer.assign([TopicPartition(self.topic, r.partition) for r in wanted])
        for r in wanted:
            self._consumer.seek(TopicPartition(self.topic, r.partition), r.start)
            self._buffers[r.partition] = deque()
            self._stops[r.partition] = r.stop
        return [self._stream(r.partition) for r in wanted]

    def _stream(self, partition: int) -> Iterator[SourceRecord]:
        buffer = self._buffers[partition]
        while True:
            while buffer:
                yield buffer.popleft()
            if partition in self._done:
                return
            self._resume(partition)
            self._fetch()

    def _fetch(self) -> None:
        for tp, records in self._consumer.poll(timeout_ms=POLL_MS).items():
            p = tp.partition
            stop = self._stops[p]
            buffer = self._buffers[p]
            before = len(buffer)
            for record in records:
                if record.offset >= stop:
                    break
                buffer.append(SourceRecord.from_consumer(record))
            if self.on_records is not None:
                self.on_records(len(buffer) - before)
            if records[-1].offset + 1 >= stop:
                self._finish(tp)
            elif len(buffer) > AHEAD:
                self._consumer.pause(tp)
                self._paused.add(p)
        for tp in self._consumer.assignment():
            if tp.partition not in self._done and self._consumer.position(tp) >= self._stops[tp.partition]:
                self._finish(tp)  # the rest was compacted away or transaction markers

    def _finish(self, tp: Any) -> None:
        self._done.add(tp.partition)
        self._consumer.pause(tp)
        self._paused.add(tp.partition)

    def _resume(self, partition: int) -> None:
        if partition in self._paused and partition not in self._done:
            from kafka import TopicPartition

            self._consumer.resume(TopicPartition(self.topic, partition))
            self._paused.discard(partition)

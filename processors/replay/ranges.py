"""Which records a time range means, the same way for Kafka and for the archive.

Kafka's rule (``offsets_for_times``): in each partition, a range ``[since, until)`` runs
from the first record, in offset order, stamped at or after ``since`` to the first one
stamped at or after ``until`` (exclusive). Records in between are all included, even one
whose producer stamped it a little out of order. :func:`clip` applies the same rule to
records read from the archive, so both sources give the same records.

Partitions are then merged by record timestamp (ties: lower partition first), each
partition staying in offset order: the same order from either source, close to the
order a live worker reads them in.
"""

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.engine import key_partition

__all__ = ["PartitionRange", "RangeStart", "clip", "key_partition", "merge_key", "merge_partitions", "plan_ranges"]


@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start, stop)`` of one partition."""

    partition: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return max(self.stop - self.start, 0)


def plan_ranges(beginning: dict[int, int], end: dict[int, int],
                since: dict[int, int | None] | None = None,
                until: dict[int, int | None] | None = None) -> list[PartitionRange]:
    """Per partition, the offsets to read.

    ``beginning``/``end`` are the partition's first and next offsets; ``since``/``until``
    are ``offsets_for_times`` answers (``None``: no record at or after that time) or
    ``None`` for an open end.
    """
    ranges = []
    for p in sorted(end):
        first, last = beginning.get(p, 0), end[p]
        start = first if since is None else _or_end(since.get(p), last)
        stop = last if until is None else _or_end(until.get(p), last)
        start = min(max(start, first), last)
        ranges.append(PartitionRange(p, start, max(min(stop, last), start)))
    return ranges


def _or_end(offset: int | None, end: int) -> int:
    return end if offset is None else offset


def clip(records: Iterable[SourceRecord], since_ms: int | None, until_ms: int | None) -> Iterator[SourceRecord]:
    """One partition's records (offset order) from the first stamped ``>= since`` to before
    the first stamped ``>= until``."""
    it = iter(records)
    if since_ms is not None:
        for record in it:
            if record.timestamp is not None and record.timestamp >= since_ms:
                if until_ms is not None and record.timestamp >= until_ms:
                    return
                yield record
                break
    if until_ms is None:
        yield from it
        return
    for record in it:
        if record.timestamp is not None and record.timestamp >= until_ms:
            return
        yield record


def merge_key(record: SourceRecord) -> tuple[int, int]:
    """Where a record goes in :func:`merge_partitions`' order: ``(timestamp or -1, partition)``."""
    return record.timestamp if record.timestamp is not None else -1, record.partition or 0


def merge_partitions(streams: list[Iterator[SourceRecord]]) -> Iterator[SourceRecord]:
    """One stream from per-partition streams: smallest timestamp first, each stream in its order.

    ``heapq.merge`` only ever takes the head of each stream, so a partition's records keep
    their offset order even where their timestamps are not sorted.
    """
    if len(streams) == 1:
        return iter(streams[0])
    return heapq.merge(*streams, key=merge_key)


class RangeStart:
    """Finds where ``--since`` begins in each partition of records read from before it.

    With ``--warmup``, records are read from ``since - warmup`` to rebuild state; the ones
    from the first record stamped ``>= since`` on (per partition, by the rule above) are
    the range itself.
    """

    __slots__ = ("since_ms", "offsets")

    def __init__(self, since_ms: int) -> None:
        self.since_ms = since_ms
        self.offsets: dict[int | None, int] = {}

    def track(self, records: Iterable[SourceRecord]) -> Iterator[SourceRecord]:
        """Pass one partition's records through, noting the range's first offset."""
        since, offsets = self.since_ms, self.offsets
        for record in records:
            offset = record.offset
            if (record.partition not in offsets and offset is not None and record.timestamp is not None
                    and record.timestamp >= since):
                offsets[record.partition] = offset
            yield record

    def includes(self, record: SourceRecord) -> bool:
        """Whether ``record`` (already passed through :meth:`track`) is in the range."""
        start, offset = self.offsets.get(record.partition), record.offset
        return start is not None and offset is not None and offset >= start

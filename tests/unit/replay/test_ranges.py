"""Offset ranges, Kafka's timestamp rule on archive records, partition merging, key partitions."""

import random

import pytest

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.replay.ranges import (PartitionRange, RangeStart, clip, key_partition, merge_partitions,
                                              plan_ranges)


def recs(partition: int, stamps: list[int]) -> list[SourceRecord]:
    return [SourceRecord(partition, offset, ts, b"k", b"v") for offset, ts in enumerate(stamps)]


def test_open_ranges_read_everything_retained():
    assert plan_ranges({0: 5, 1: 0}, {0: 50, 1: 7}) == [PartitionRange(0, 5, 50), PartitionRange(1, 0, 7)]


def test_offsets_by_time_bound_each_partition():
    ranges = plan_ranges({0: 0, 1: 0, 2: 0}, {0: 100, 1: 100, 2: 100},
                         since={0: 10, 1: None, 2: 0}, until={0: 60, 1: None, 2: None})

    # partition 1 has nothing at or after --since: empty; no record at or after --until: to the end.
    assert ranges == [PartitionRange(0, 10, 60), PartitionRange(1, 100, 100), PartitionRange(2, 0, 100)]
    assert [r.size for r in ranges] == [50, 0, 100]


def test_ranges_stay_inside_what_the_broker_has():
    ranges = plan_ranges({0: 40}, {0: 50}, since={0: 3}, until={0: 45})

    assert ranges == [PartitionRange(0, 40, 45)]
    assert plan_ranges({0: 0}, {0: 50}, since={0: 30}, until={0: 20}) == [PartitionRange(0, 30, 30)]


@pytest.mark.parametrize(("since", "until", "offsets"), [
    (None, None, [0, 1, 2, 3, 4, 5, 6]),
    (20, None, [2, 3, 4, 5, 6]),  # from the first stamped >= 20; offset 3 (stamped 15) is inside
    (None, 30, [0, 1, 2, 3]),  # up to the first stamped >= 30 (offset 4), even though 5 is stamped 25
    (20, 30, [2, 3]),
    (31, 32, []),  # the first record at or after 31 is already past 32
    (100, None, []),
])
def test_clip_follows_offsets_for_times(since, until, offsets):
    records = recs(0, [10, 12, 20, 15, 30, 25, 40])

    assert [r.offset for r in clip(records, since, until)] == offsets


def test_merge_orders_by_time_and_keeps_each_partition_in_offset_order():
    a, b = recs(0, [1, 5, 3, 9]), recs(1, [2, 4, 8])

    merged = [(r.partition, r.offset) for r in merge_partitions([iter(a), iter(b)])]

    assert merged == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 2), (1, 2), (0, 3)]


def test_merge_breaks_ties_by_partition():
    merged = merge_partitions([iter(recs(1, [5])), iter(recs(0, [5]))])

    assert [r.partition for r in merged] == [0, 1]


def test_range_start_marks_the_first_record_at_or_after_since_per_partition():
    start = RangeStart(20)
    records = list(merge_partitions([start.track(recs(0, [10, 25, 15])), start.track(recs(1, [5, 19, 21]))]))

    inside = [(r.partition, r.offset) for r in records if start.includes(r)]
    assert sorted(inside) == [(0, 1), (0, 2), (1, 2)]


def test_key_partition_is_kafkas_default_partitioner():
    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    rng = random.Random(5)
    for _ in range(300):
        key = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
        partitions = rng.randrange(1, 50)
        assert key_partition(key, partitions) == (aiokafka_murmur2(key) & 0x7FFFFFFF) % partitions
    # Values the Java client gives (org.apache.kafka.common.utils.Utils.murmur2).
    assert [key_partition(k, 1000) for k in (b"21", b"foobar", b"a-little-bit-long-string")] == [
        (-973932308 & 0x7FFFFFFF) % 1000, (-790332482 & 0x7FFFFFFF) % 1000, (-985981536 & 0x7FFFFFFF) % 1000]

"""Batched output: one record batch per topic partition instead of one send per record.

Sending records one by one through faust costs tens of microseconds each, as much as the
engine's work on the event. :class:`BatchWriter` groups a batch's records by topic and
partition and hands each group to the producer as one aiokafka ``BatchBuilder``. The
records still go through the app's one producer, so faust's commit (which flushes the
producer before it commits offsets) covers them.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from cxpulse.processors.engine.partitioner import key_partition, murmur2

__all__ = ["BatchWriter", "key_partition"]

PartitionCount = Callable[[str], int]


class BatchWriter:
    """Collects ``(topic, key, value, partition)`` records and sends them in batches.

    ``producer`` is an ``aiokafka.AIOKafkaProducer`` (faust's own, so commits flush it).
    A record without a partition goes where the default partitioner would put its key.
    ``partition_counts`` caches topic partition counts across writers, ``hashes`` key hashes.
    """

    def __init__(self, producer: Any, partition_counts: dict[str, int] | None = None,
                 hashes: dict[bytes, int] | None = None) -> None:
        self._producer = producer
        self._pending: dict[str, dict[int, list[tuple[bytes | None, bytes | None]]]] = {}
        self._partitions = partition_counts if partition_counts is not None else {}
        self._hashes = hashes if hashes is not None else {}
        self.records = 0

    def add(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None) -> None:
        """Queue one record; nothing is sent before :meth:`send`."""
        by_partition = self._pending.get(topic)
        if by_partition is None:
            by_partition = self._pending[topic] = {}
        if partition is None:
            partition = -1 if key is None else -2 - self._hash(key)  # resolved in send()
        by_partition.setdefault(partition, []).append((key, value))
        self.records += 1

    def __len__(self) -> int:
        return self.records

    def _hash(self, key: bytes) -> int:
        # murmur2 is pure Python: an alert and a snapshot of one customer share one hash.
        hashed = self._hashes.get(key)
        if hashed is None:
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed

    async def send(self) -> list[asyncio.Future]:
        """Hand every queued record to the producer; returns the delivery futures."""
        pending, self._pending, self.records = self._pending, {}, 0
        futures: list[asyncio.Future] = []
        for topic, by_partition in pending.items():
            count = await self._partition_count(topic)
            for partition, records in _resolve(by_partition, count).items():
                futures += await self._send_partition(topic, partition, records)
        return futures

    async def deliver(self) -> None:
        """Send every queued record and wait until the broker has acknowledged each one."""
        futures = await self.send()
        if futures:
            await asyncio.gather(*futures)

    async def _partition_count(self, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            await self._producer.client._wait_on_metadata(topic)
            count = len(self._producer.client.cluster.partitions_for_topic(topic) or ())
            if not count:
                raise RuntimeError(f"topic {topic} has no partitions")
            self._partitions[topic] = count
        return count

    async def _send_partition(self, topic: str, partition: int, records: list) -> list[asyncio.Future]:
        futures = []
        batch, filled = self._producer.create_batch(), 0
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:
                futures.append(await self._submit(batch, topic, partition))
                batch, filled = self._producer.create_batch(), 0
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"a record for {topic} is larger than the producer's batch size")
            filled += 1
        if filled:
            futures.append(await self._submit(batch, topic, partition))
        return futures

    async def _submit(self, batch: Any, topic: str, partition: int) -> asyncio.Future:
        batch.close()  # nothing else may join this batch through producer.send()
        return await self._producer.send_batch(batch, topic, partition=partition)


def _resolve(by_partition: dict[int, list], count: int) -> dict[int, list]:
    """Map the placeholder partitions of keyed records (``-2 - hash``) to real ones."""
    resolved: dict[int, list] = {}
    for partition, records in by_partition.items():
        if partition >= 0:
            resolved.setdefault(partition, []).extend(records)
        elif partition == -1:  # no key (not used by cxpulse's outputs): partition 0
            resolved.setdefault(0, []).extend(records)
        else:
            resolved.setdefault((-2 - partition) % count, []).extend(records)
    return resolved

"""Batched output: one record batch per topic partition instead of one send per record.

Sending records one by one through faust costs tens of microseconds each, as much as the
engine's work on the event. :class:`BatchWriter` groups a batch's records by topic and
partition and hands each group to the producer as one aiokafka ``BatchBuilder``.

Nothing is lost silently: :meth:`BatchWriter.deliver` waits for the broker's answer to
every batch it sent and checks it. A batch the broker rejected, or that timed out, is
sent again (``worker.write_retries`` times, with a doubling ``worker.write_retry_backoff_seconds``);
then :class:`WriteFailed` stops the worker. The records of a consumer batch are acked
(and so may be committed) only after their writes were delivered; faust's own commit
flushes the producer but never learns about a failed send (aiokafka's ``flush`` does not
raise). A record larger than its topic's ``max.message.bytes`` is refused before it is
sent (aiokafka puts any first record into a batch whatever its size, and the broker
would reject the batch).
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cxpulse.errors import CxpulseError
from cxpulse.processors.engine.partitioner import key_partition, murmur2

__all__ = ["BatchWriter", "RecordTooLarge", "RetryPolicy", "WriteFailed", "key_partition"]

log = logging.getLogger(__name__)

PartitionCount = Callable[[str], int]

class WriteFailed(CxpulseError):
    """A write that an offset commit depends on failed after its retries: the worker stops (nothing is committed past it)."""


class RecordTooLarge(WriteFailed):
    """A record is larger than its topic's ``max.message.bytes``: it would be rejected by the broker."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed batch is sent again, and how long to wait before each attempt (doubling, capped)."""

    retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))


_Sent = tuple[asyncio.Future, str, int, list]  # (delivery future, topic, partition, records)


class BatchWriter:
    """Collects ``(topic, key, value, partition)`` records and sends them in batches.

    ``producer`` is an ``aiokafka.AIOKafkaProducer`` (faust's own).
    A record without a partition goes where the default partitioner would put its key.
    ``partition_counts`` caches topic partition counts across writers, ``hashes`` key hashes.
    ``limits`` maps a topic to its ``max.message.bytes`` (records over it raise :class:`RecordTooLarge`).
    """

    def __init__(self, producer: Any, partition_counts: dict[str, int] | None = None,
                 hashes: dict[bytes, int] | None = None, limits: dict[str, int] | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self._producer = producer
        self._pending: dict[str, dict[int, list[tuple[bytes | None, bytes | None]]]] = {}
        self._partitions = partition_counts if partition_counts is not None else {}
        self._hashes = hashes if hashes is not None else {}
        self._limits = limits or {}
        self._retry = retry or RetryPolicy()
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

    def take(self, other: "BatchWriter", topic: str) -> None:
        """Move ``other``'s queued records of ``topic`` to this writer (they go out with this writer's records)."""
        moved = other._pending.pop(topic, None)
        if not moved:
            return
        count = sum(len(records) for records in moved.values())
        other.records -= count
        mine = self._pending.setdefault(topic, {})
        for partition, records in moved.items():
            mine.setdefault(partition, []).extend(records)
        self.records += count

    def __len__(self) -> int:
        return self.records

    def _hash(self, key: bytes) -> int:
        # murmur2 is pure Python: an alert and a snapshot of one customer share one hash.
        hashed = self._hashes.get(key)
        if hashed is None:
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed

    async def send(self) -> list[_Sent]:
        """Hand every queued record to the producer; returns what was sent, with its delivery futures."""
        pending, self._pending, self.records = self._pending, {}, 0
        sent: list[_Sent] = []
        for topic, by_partition in pending.items():
            count = await self._partition_count(topic)
            for partition, records in _resolve(by_partition, count).items():
                sent += await self._send_partition(topic, partition, records)
        return sent

    async def deliver(self) -> int:
        """Send every queued record and wait until the broker acknowledged each one.

        A batch that failed is sent again after a backoff, up to the policy's retries; then
        :class:`WriteFailed`. Returns the number of batches that had to be sent again.
        """
        return await self.confirm(await self.send())

    async def confirm(self, sent: list[_Sent]) -> int:
        """Wait for the broker's answer to every batch :meth:`send` handed over; resend failed ones (see :meth:`deliver`)."""
        attempt = 0
        while sent:
            results = await asyncio.gather(*(s[0] for s in sent), return_exceptions=True)
            failed = [(s, r) for s, r in zip(sent, results, strict=True) if isinstance(r, BaseException)]
            if not failed:
                return attempt
            (_, topic, partition, records), error = failed[0]
            if isinstance(error, asyncio.CancelledError):
                raise error
            attempt += 1
            if attempt > self._retry.retries:
                raise WriteFailed(f"{len(failed)} record batch(es) not delivered after {self._retry.retries} "
                                  f"retries; the first, {len(records)} record(s) for {topic}[{partition}]: "
                                  f"{type(error).__name__}: {error}") from error
            log.warning("%d record batch(es) not delivered (%s[%d]: %s: %s); sending again in %.1f s "
                        "(attempt %d of %d)", len(failed), topic, partition, type(error).__name__, error,
                        self._retry.delay(attempt), attempt, self._retry.retries)
            await asyncio.sleep(self._retry.delay(attempt))
            sent = []
            for (_, topic, partition, records), _ in failed:
                sent += await self._send_partition(topic, partition, records)
        return attempt

    async def _partition_count(self, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            # The producer's public ``partitions_for`` waits for the topic's metadata (once per topic and worker).
            count = len(await self._producer.partitions_for(topic) or ())
            if not count:
                raise RuntimeError(f"topic {topic} has no partitions")
            self._partitions[topic] = count
        return count

    async def _send_partition(self, topic: str, partition: int, records: list) -> list[_Sent]:
        sent: list[_Sent] = []
        chunk: list[tuple[bytes | None, bytes | None]] = []
        batch = self._producer.create_batch()
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:
                sent.append((await self._submit(batch, topic, partition), topic, partition, chunk))
                batch, chunk = self._producer.create_batch(), []
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise RecordTooLarge(f"a record for {topic} is larger than the producer's batch size")
            chunk.append((key, value))
        if chunk:
            sent.append((await self._submit(batch, topic, partition), topic, partition, chunk))
        return sent

    async def _submit(self, batch: Any, topic: str, partition: int) -> asyncio.Future:
        batch.close()  # nothing else may join this batch through producer.send()
        limit = self._limits.get(topic)
        if limit is not None and batch.size() > limit:  # the built batch, as the broker measures it
            raise RecordTooLarge(f"a {batch.size()}-byte record batch for {topic}[{partition}] is over the topic's "
                                 f"max.message.bytes {limit}; the broker would reject it")
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

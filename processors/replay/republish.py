"""``cxpulse replay --to-topic NAME``: copy a range into another topic, record for record.

Keys, values, headers and timestamps are kept as they were (so the staging worker's
verdicts match); each record goes to the partition it came from when the target has
as many partitions as the source, else where the default partitioner puts its key.
Every send is confirmed by the broker (``acks=all``, idempotent); failures are counted.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cxpulse.clients import connection_failure, kafka_python_config
from cxpulse.errors import BrokerError
from cxpulse.processors.archive.kafka import open_consumer, topic_partitions
from cxpulse.processors.archive.record import SourceRecord
from cxpulse.settings import KafkaSettings

__all__ = ["RepublishResult", "Republisher"]

log = logging.getLogger(__name__)
TICK = 2048


@dataclass
class RepublishResult:
    """Records sent, confirmed and failed (by error type)."""

    sent: int = 0
    delivered: int = 0
    skipped: int = 0  # other customers' records (``--customer``)
    errors: dict[str, int] = field(default_factory=dict)
    partial: bool = False

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


class Republisher:
    """Sends records to ``target``; :meth:`run` then :meth:`close` (which waits for every ack)."""

    def __init__(self, kafka: KafkaSettings, target: str, source_partitions: int | None) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        consumer = open_consumer(kafka)
        try:
            self.partitions = len(topic_partitions(consumer, target, timeout=10.0))
        finally:
            consumer.close()
        self.keep_partition = source_partitions == self.partitions
        try:
            self._producer = KafkaProducer(**kafka_python_config(kafka), acks="all", enable_idempotence=True,
                                           linger_ms=20, batch_size=512 * 1024, max_request_size=4 * 1024 * 1024)
        except KafkaError as exc:
            raise BrokerError(connection_failure(kafka, exc)) from None
        self.target = target
        self.result = RepublishResult()
        self.stopping = False
        self._lock = threading.Lock()  # acknowledgements arrive on the client's I/O thread

    def stop(self) -> None:
        self.stopping = True

    def run(self, records: Iterable[SourceRecord], key: bytes | None = None,
            tick: Callable[[int], None] | None = None) -> RepublishResult:
        """Send every record (only ``key``'s, if given); stops early on :meth:`stop`."""
        seen = 0
        for record in records:
            seen += 1
            if tick is not None and not seen % TICK:
                tick(TICK)
            if self.stopping:
                self.result.partial = True
                break
            if key is not None and record.key != key:
                self.result.skipped += 1
                continue
            self._send(record)
        if tick is not None:
            tick(seen % TICK)
        return self.result

    def _send(self, record: SourceRecord) -> None:
        partition = record.partition if self.keep_partition else None
        if partition is None and record.key is None and record.partition is not None:
            partition = record.partition % self.partitions
        self.result.sent += 1
        try:
            future = self._producer.send(self.target, value=record.value_bytes(), key=record.key,
                                         headers=list(record.headers), partition=partition,
                                         timestamp_ms=record.timestamp)
        except Exception as exc:  # noqa: BLE001 - whatever the client raises, the record is counted lost
            self._failed(exc)
            return
        future.add_callback(self._delivered)
        future.add_errback(self._failed)

    def _delivered(self, _metadata: Any) -> None:
        with self._lock:
            self.result.delivered += 1

    def _failed(self, exc: BaseException) -> None:
        name = type(exc).__name__
        with self._lock:
            first = not self.result.errors
            self.result.errors[name] = self.result.errors.get(name, 0) + 1
        if first:  # one line, not one per record; never a key (a customer id)
            log.warning("delivery to %s failed: %s: %s", self.target, name, exc)

    def close(self, timeout: float = 60.0) -> RepublishResult:
        """Wait for every acknowledgement; records never confirmed count as failed."""
        from kafka.errors import KafkaTimeoutError

        try:
            self._producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            pass
        self._producer.close(timeout=5)
        with self._lock:
            missing = self.result.sent - self.result.delivered - self.result.failed
            if missing > 0:
                self.result.errors["unconfirmed"] = self.result.errors.get("unconfirmed", 0) + missing
            return self.result

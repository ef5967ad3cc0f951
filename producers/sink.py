"""Where produced events go: a Kafka topic (with every delivery confirmed) or a JSONL stream.

Both sinks take ``(key, value)`` bytes and end with :meth:`close`, which returns a
:class:`DeliveryReport`. The Kafka sink counts an event as delivered only when the
broker acknowledged it (``acks=all``); a failed send, a failed acknowledgement and an
event still unacknowledged when the flush times out all count as failures, with the
error's type, so that nothing is dropped silently.
"""

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from cxpulse.settings import Settings

from .errors import ProducerError

__all__ = ["DeliveryReport", "EventSink", "JsonlSink", "KafkaSink", "producer_config"]

log = logging.getLogger(__name__)

_SETTLE_AT = 4096  # settle completed futures once this many wait


@dataclass
class DeliveryReport:
    """How many events were handed to a sink, confirmed, and lost (by error type)."""

    sent: int = 0
    delivered: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def describe_errors(self) -> str:
        """``"KafkaTimeoutError x3, ..."``, most frequent first."""
        return ", ".join(f"{name} x{count}" for name, count in self.errors.most_common())


class EventSink(Protocol):
    """Takes events and reports what became of them."""

    def send(self, key: bytes, value: bytes) -> None: ...

    def close(self) -> DeliveryReport: ...


class JsonlSink:
    """Writes each value as one line to a binary stream (``--dry-run``)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.report = DeliveryReport()

    def send(self, key: bytes, value: bytes) -> None:
        self._stream.write(value + b"\n")
        self.report.sent += 1
        self.report.delivered += 1

    def close(self) -> DeliveryReport:
        self._stream.flush()
        return self.report


def producer_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of kafka-python's ``KafkaProducer`` for cxpulse's producers."""
    from cxpulse.clients import kafka_python_config

    producer = settings.producer
    return {
        **kafka_python_config(settings.kafka),
        "acks": "all",
        # Idempotence makes the unbounded retries safe: a retried batch is never written twice.
        "enable_idempotence": True,
        "linger_ms": producer.linger_ms,
        "batch_size": producer.batch_size,
        "compression_type": producer.compression_type,
        "delivery_timeout_ms": int(producer.delivery_timeout_seconds * 1000),
        "max_block_ms": int(producer.max_block_seconds * 1000),
        # A missing topic is an error (checked before sending), never one auto-created with default partitions.
        "allow_auto_create_topics": False,
    }


class KafkaSink:
    """Sends to one topic with kafka-python; every send's acknowledgement is counted.

    The futures of sent records wait in a queue in send order and are settled (counted
    as delivered or failed) from its head as they complete; no per-record callback and
    no lock, which costs the client's I/O thread nothing. The queue is bounded by what
    the producer's buffer holds in flight.
    """

    def __init__(self, producer: Any, topic: str, flush_timeout: float) -> None:
        self._producer = producer
        self._topic = topic
        self._flush_timeout = flush_timeout
        self._pending: deque[Any] = deque()
        self.report = DeliveryReport()

    @classmethod
    def connect(cls, settings: Settings, topic: str) -> "KafkaSink":
        """A sink on a new producer; raises :class:`ProducerError` when no broker answers."""
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        try:
            producer = KafkaProducer(**producer_config(settings))
        except KafkaError as exc:
            from cxpulse.clients import connection_failure

            raise ProducerError(connection_failure(settings.kafka, exc)) from None
        return cls(producer, topic, settings.producer.delivery_timeout_seconds + 5)

    def send(self, key: bytes, value: bytes) -> None:
        self.report.sent += 1
        try:
            future = self._producer.send(self._topic, key=key, value=value)
        except Exception as exc:  # noqa: BLE001 - whatever the client raises, the event is counted lost
            self._failed(exc)
            return
        self._pending.append(future)
        if len(self._pending) >= _SETTLE_AT:
            self._settle()

    def _settle(self, final: bool = False) -> None:
        """Count the completed futures at the head of the queue (all of them when ``final``)."""
        pending = self._pending
        while pending and (final or pending[0].is_done):
            future = pending.popleft()
            if not future.is_done:
                self.report.errors["unconfirmed"] += 1
            elif future.succeeded():
                self.report.delivered += 1
            else:
                self._failed(future.exception)

    def _failed(self, exc: BaseException) -> None:
        if not self.report.errors:  # one log line, not one per event; never the key (a customer id)
            log.warning("delivery to %s failed: %s: %s", self._topic, _name(exc), exc)
        self.report.errors[_name(exc)] += 1

    def close(self) -> DeliveryReport:
        """Flush, wait for every acknowledgement, close; unconfirmed events count as failed."""
        self._flush()
        self._settle(final=True)
        self._producer.close(timeout=5)
        return self.report

    def _flush(self) -> None:
        """Flush until every batch settled or the timeout passed; what is left counts as unconfirmed."""
        from kafka.errors import KafkaError, KafkaTimeoutError

        deadline = time.monotonic() + self._flush_timeout
        while True:
            try:
                self._producer.flush(timeout=max(0.0, deadline - time.monotonic()))
                return
            except KafkaTimeoutError:
                return
            except KafkaError as exc:  # kafka-python raises when a too-large batch was split: flush again
                log.debug("flush interrupted (%s); flushing again", _name(exc))
                if time.monotonic() >= deadline:
                    return


def _name(exc: BaseException) -> str:
    return type(exc).__name__

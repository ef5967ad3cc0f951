"""``cxpulse bridge``: a raw topic of another system's records into ``cx.events``, through a mapping.

A consumer group reads the raw topic; each poll's records are mapped and checked
(:func:`~.judge.judge_bytes`), their events produced to the events topic (key =
customer_id, ``acks=all``, idempotent producer) and the records that cannot be mapped to
the dead-letter topic with the reason and their raw partition and offset. Only when the
broker acknowledged all of that are the batch's offsets committed: **at least once**. A
bridge stopped or killed before its commit maps the batch again on restart; the events'
ids are the same, so the worker counts them once.

The record's own Kafka timestamp is the moment of reading for the contract's
future-timestamp rule (as the worker does), so a replay of the raw topic gives the same
verdicts.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cxpulse.schemas import dead_letter, dead_letter_json
from cxpulse.settings import Settings

from ..errors import ProducerError
from .judge import Events, Failed, Skipped, judge_bytes
from .mapper import Mapper

__all__ = ["Bridge", "BridgeRun", "bridge_group"]

log = logging.getLogger(__name__)


def bridge_group(settings: Settings, source: str, raw_topic: str) -> str:
    """The default consumer group: one per source and raw topic, so bridges never share offsets."""
    return f"{settings.sources.bridge_group_prefix}.{source}.{raw_topic}"


@dataclass
class BridgeRun:
    """What one run did: raw records read, events produced, records ignored and dead-lettered."""

    records: int = 0
    events: int = 0
    ignored: int = 0
    dead_letters: int = 0
    batches: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


class Bridge:
    """Maps ``raw_topic`` into the events topic until :meth:`stop` (or the end, with ``until_end``)."""

    def __init__(self, settings: Settings, mapper: Mapper, raw_topic: str, *, group: str | None = None,
                 to_topic: str | None = None, until_end: bool = False) -> None:  # fmt: skip
        self.settings = settings
        self.mapper = mapper
        self.raw_topic = raw_topic
        self.group = group or bridge_group(settings, mapper.name, raw_topic)
        self.to_topic = to_topic or settings.topics.events
        self.until_end = until_end
        self.stopping = False
        self.result = BridgeRun()

    def stop(self) -> None:
        """End after the current batch is delivered and committed (safe from a signal handler)."""
        self.stopping = True

    def run(self) -> BridgeRun:
        """Consume, map, deliver, commit, until stopped; raises :class:`ProducerError` on a lost delivery."""
        consumer, producer = self._clients()
        try:
            while not self.stopping:
                polled = consumer.poll(timeout_ms=int(self.settings.sources.bridge_poll_seconds * 1000),
                                       max_records=self.settings.sources.bridge_batch_records)  # fmt: skip
                records = [record for batch in polled.values() for record in batch]
                if records:
                    self._deliver(producer, records)
                    consumer.commit()  # the positions after this poll: everything just delivered
                    self.result.batches += 1
                    log.info("bridge %s: %d records -> committed", self.group, len(records))
                elif self.until_end and _caught_up(consumer):
                    break
        finally:
            producer.close(timeout=5)
            consumer.close(autocommit=False)
        return self.result

    def _clients(self) -> tuple[Any, Any]:
        from kafka import KafkaConsumer, KafkaProducer
        from kafka.errors import KafkaError

        from cxpulse.clients import kafka_python_config
        from cxpulse.topics import admin_client

        from ..sink import producer_config

        with admin_client(self.settings.kafka) as admin:
            existing = set(admin.list_topics())
        for topic in (self.raw_topic, self.to_topic, self.settings.topics.dlq):
            if topic not in existing:
                raise ProducerError(f"topic {topic} does not exist" + (
                    "; create it with 'cxpulse topics create'" if topic != self.raw_topic else ""))  # fmt: skip
        try:
            consumer = KafkaConsumer(
                self.raw_topic, **kafka_python_config(self.settings.kafka), group_id=self.group,
                enable_auto_commit=False, auto_offset_reset="earliest",
            )  # fmt: skip
            producer = KafkaProducer(**producer_config(self.settings))
        except KafkaError as exc:
            raise ProducerError(f"cannot connect to Kafka at {self.settings.kafka.bootstrap_servers}: {type(exc).__name__}") from None
        return consumer, producer

    def _deliver(self, producer: Any, records: list[Any]) -> None:
        futures = []
        for record in records:
            for topic, key, value in self._outputs(record):
                futures.append(producer.send(topic, key=key, value=value))
        from kafka.errors import KafkaError

        try:
            producer.flush(timeout=self.settings.producer.delivery_timeout_seconds)
        except KafkaError:  # a timeout: what is not acknowledged counts as failed below
            pass
        failed = [future for future in futures if not future.is_done or future.failed()]
        if failed:
            first = failed[0]
            why = type(first.exception).__name__ if first.is_done else "not acknowledged in time"
            # Not committed: a restarted bridge maps this batch again (its events de-duplicate downstream).
            raise ProducerError(f"{len(failed)} of {len(futures)} records not delivered ({why}); "
                                "nothing of this batch was committed")  # fmt: skip

    def _outputs(self, record: Any) -> list[tuple[str, bytes | None, bytes]]:
        run = self.result
        run.records += 1
        read_at = record.timestamp / 1000 if record.timestamp and record.timestamp > 0 else time.time()
        outcome = judge_bytes(self.mapper, record.value, read_at, self.settings.validation.max_future_seconds)
        if isinstance(outcome, Skipped):
            run.ignored += 1
            return []
        if isinstance(outcome, Events):
            run.events += len(outcome.accepted)
            return [(self.to_topic, event.key, event.value) for event in outcome.accepted]
        assert isinstance(outcome, Failed)
        run.dead_letters += 1
        run.reasons[outcome.reason] += 1
        letter = dead_letter(outcome.reason, record.value if record.value is not None else b"",
                             source_topic=record.topic, partition=record.partition, offset=record.offset,
                             key=record.key, source=self.mapper.name)  # fmt: skip
        return [(self.settings.topics.dlq, record.key, dead_letter_json(letter))]


def _caught_up(consumer: Any) -> bool:
    assigned = consumer.assignment()
    if not assigned:
        return False
    ends = consumer.end_offsets(list(assigned))
    return all(consumer.position(tp) >= end for tp, end in ends.items())

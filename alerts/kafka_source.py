"""The alerts topic as an :class:`~cxpulse.alerts.router.AlertSource`: a kafka-python consumer group.

Auto-commit is off; :meth:`KafkaAlertSource.commit` commits exactly the offsets of the
batch it is given. While a batch waits for Alertmanager, :meth:`keepalive` polls with
every partition paused: the consumer stays in its group (``max.poll.interval.ms``)
without reading ahead.
"""

import logging
from typing import Any

from cxpulse.settings import Settings

from .router import Batch

__all__ = ["KafkaAlertSource"]

log = logging.getLogger(__name__)


class KafkaAlertSource:
    """Reads ``settings.topics.alerts`` in consumer group ``settings.alerts.group_id``."""

    def __init__(self, settings: Settings, from_beginning: bool = True) -> None:
        from kafka import KafkaConsumer

        from cxpulse.clients import kafka_python_config

        self.topic = settings.topics.alerts
        self._consumer = KafkaConsumer(
            **kafka_python_config(settings.kafka), group_id=settings.alerts.group_id, enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
        )  # fmt: skip
        self._consumer.subscribe([self.topic])

    def poll(self, timeout: float, max_records: int) -> Batch | None:
        consumer = self._consumer
        paused = consumer.paused()
        if paused:
            consumer.resume(*paused)
        polled = consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        if not polled:
            return None
        values, position = [], {}
        for tp, records in polled.items():
            values += [record.value for record in records]
            position[tp] = records[-1].offset + 1
        return Batch(values, position)

    def commit(self, batch: Batch) -> bool:
        from kafka.errors import CommitFailedError, IllegalStateError
        from kafka.structs import OffsetAndMetadata

        if not batch.position:
            return True
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in batch.position.items()}
        try:
            self._consumer.commit(offsets)
            return True
        except (CommitFailedError, IllegalStateError) as exc:
            log.info("commit refused: %s", exc)
            return False

    def keepalive(self) -> None:
        consumer = self._consumer
        assigned = consumer.assignment()
        if assigned:
            consumer.pause(*assigned)
        consumer.poll(timeout_ms=0)  # heartbeats and rebalances; returns nothing while paused

    def lag(self) -> int | None:
        """Records in the assigned partitions not yet committed (``None`` before an assignment)."""
        consumer = self._consumer
        assigned = list(consumer.assignment())
        if not assigned:
            return None
        ends = consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - (consumer.committed(tp) or 0)) for tp in assigned)

    def close(self) -> None:
        self._consumer.close()

    @property
    def consumer(self) -> Any:
        return self._consumer

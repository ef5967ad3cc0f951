"""kafka-python consumers for the archive and the replay tools: raw bytes, no group commits.

Errors a user can cause (no broker, no such topic) become :class:`BrokerError` lines.
"""

import time
from typing import Any

from cxpulse.clients import connection_failure, kafka_python_config
from cxpulse.errors import BrokerError
from cxpulse.settings import KafkaSettings

__all__ = ["open_consumer", "topic_partitions"]


def open_consumer(kafka: KafkaSettings, group_id: str | None = None, **extra: Any) -> Any:
    """A ``KafkaConsumer`` with no deserializers and no automatic commits."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(**kafka_python_config(kafka), group_id=group_id, enable_auto_commit=False,
                             auto_offset_reset="earliest", **extra)
    except (KafkaError, OSError) as exc:
        raise BrokerError(connection_failure(kafka, exc)) from None


def topic_partitions(consumer: Any, topic: str, timeout: float = 15.0) -> list[int]:
    """The topic's partition numbers; ``BrokerError`` when the topic does not exist."""
    deadline = time.monotonic() + timeout
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return sorted(partitions)
        if time.monotonic() >= deadline:
            raise BrokerError(f"topic {topic} does not exist (or has no partitions)")
        time.sleep(0.2)  # metadata is refreshed in the background; ask again

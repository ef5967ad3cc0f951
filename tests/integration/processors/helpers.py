"""Reading the worker's outputs and progress from the broker."""

from collections import Counter
from typing import Any

import orjson

from cxpulse.clients import kafka_python_config
from cxpulse.processors.engine import EngineDriver
from cxpulse.schemas import parse_event
from cxpulse.settings import Settings

__all__ = ["alert_key", "consumed_everything", "expected_run", "committed_total", "lagging", "last_scores", "settled"]


def alert_key(alert: dict[str, Any]) -> tuple[str, str | None, str]:
    return alert["rule"], alert["customer_id"], alert["service_type"]


def expected_run(settings: Settings, records: list[tuple[bytes, bytes]]) -> EngineDriver:
    """The pure engine's verdict on the valid records, in the order they were produced
    (each on the partition Kafka's default partitioner gives its customer)."""
    driver = EngineDriver(settings.engine, partitions=settings.topics.partitions)
    for _, value in records:
        driver.feed(parse_event(value))
    driver.finish()
    return driver


def last_scores(records: list) -> dict[str, dict[str, Any]]:
    """The latest snapshot per customer on a score topic (records in offset order per partition)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        latest[record.key.decode()] = orjson.loads(record.value)
    return latest


def consumed_everything(settings: Settings, topics: list[str]) -> bool:
    """Whether the worker's consumer group has committed every topic up to its end offsets."""
    return not lagging(settings, topics)


def lagging(settings: Settings, topics: list[str]) -> dict[str, tuple[int | None, int]]:
    """``{"topic/partition": (committed, end)}`` of every partition not yet committed to its end."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    config = kafka_python_config(settings.kafka)
    admin = KafkaAdminClient(**config)
    consumer = KafkaConsumer(**config, group_id=None)
    try:
        group = settings.worker.app_id
        committed = admin.list_group_offsets({group: None}).get(group, {})
        wanted = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(wanted)
        if not wanted:
            return {"(no partitions yet)": (None, 0)}
        done = lambda tp, end: end == 0 or (tp in committed and committed[tp].offset >= end)  # noqa: E731
        return {f"{tp.topic}/{tp.partition}": (committed[tp].offset if tp in committed else None, end)
                for tp, end in ends.items() if not done(tp, end)}
    finally:
        consumer.close()
        admin.close()


def committed_total(settings: Settings, topic: str) -> int:
    """Sum of the worker group's committed offsets on ``topic`` (0 before its first commit)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka_python_config(settings.kafka))
    try:
        group = settings.worker.app_id
        committed = admin.list_group_offsets({group: None}).get(group, {})
        return sum(meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset > 0)
    finally:
        admin.close()


def counts(alerts: list[dict[str, Any]]) -> Counter:
    return Counter(alert_key(a) for a in alerts)


def settled(health: dict[str, Any] | None) -> bool:
    """Whether every partition the worker owns is idle and its last mark delivered: the
    final SLA sweep at the overall clock is done and the incident agent can decide every window."""
    owned = (health or {}).get("owned_partitions") or []
    return bool(owned) and health["idle_partitions"] >= len(owned)

"""The topics cxpulse reads and writes, and how ``cxpulse topics create`` makes them.

Creation is idempotent: a topic that exists is left alone, with a warning when its
partition count or cleanup policy differs from the settings.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cxpulse.clients import connection_failure, kafka_python_config
from cxpulse.errors import BrokerError
from cxpulse.settings import KafkaSettings, TopicSettings

__all__ = ["DLQ_MAX_MESSAGE_BYTES", "OUTPUT_MAX_MESSAGE_BYTES", "TopicInfo", "TopicOutcome", "TopicSpec", "admin_client", "ensure_topics",
           "group_lag", "list_topics", "message_limits", "topic_specs"]  # fmt: skip

# A dead letter carries the original value, base64 when it is not UTF-8 (4/3 larger),
# plus the reason: a record near the 1 MiB default limit must still fit.
DLQ_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Every other topic cxpulse creates states Kafka's default limit explicitly: the worker's
# writer refuses a record over it before the broker would reject it.
OUTPUT_MAX_MESSAGE_BYTES = 1_048_588
_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicSpec:
    """A topic as it should be."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicOutcome:
    """What ``ensure_topics`` did with one topic."""

    name: str
    created: bool
    partitions: int
    warning: str | None = None


@dataclass(frozen=True)
class TopicInfo:
    """A topic as the broker describes it."""

    name: str
    partitions: int
    cleanup_policy: str


def topic_specs(topics: TopicSettings) -> list[TopicSpec]:
    """``cx.events``, ``cx.alerts``, ``cx.scores`` (compacted), ``cx.events.dlq`` and ``cx.agent-warnings`` per the settings."""
    size = {"partitions": topics.partitions, "replication_factor": topics.replication_factor}
    limit = {"max.message.bytes": str(OUTPUT_MAX_MESSAGE_BYTES)}
    return [
        TopicSpec(topics.events, **size, configs=limit),
        TopicSpec(topics.alerts, **size, configs=limit),
        TopicSpec(topics.scores, **size, configs={"cleanup.policy": "compact", **limit}),
        TopicSpec(topics.dlq, **size, configs={"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)}),
        TopicSpec(topics.warnings, **size, configs=limit),
    ]


@contextmanager
def admin_client(kafka: KafkaSettings, timeout: float = 15.0) -> Iterator[Any]:
    """A kafka-python ``KafkaAdminClient``; a broker that cannot be reached is a ``BrokerError``."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    millis = int(timeout * 1000)
    try:
        with _quiet("kafka"):  # one clear error below instead of a log line per refused connection
            admin = KafkaAdminClient(**kafka_python_config(kafka), request_timeout_ms=millis, bootstrap_timeout_ms=millis)
    except (KafkaError, OSError) as exc:
        raise BrokerError(connection_failure(kafka, exc)) from None  # says so when it is the credentials
    try:
        yield admin
    except KafkaError as exc:
        raise BrokerError(f"Kafka at {kafka.bootstrap_servers} refused the request: {_reason(exc)}") from None
    finally:
        admin.close()


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def ensure_topics(
    kafka: KafkaSettings, specs: list[TopicSpec], timeout: float = 30.0, connect_timeout: float = 15.0
) -> list[TopicOutcome]:
    """Create the topics that do not exist; describe the ones that do."""
    with admin_client(kafka, connect_timeout) as admin:
        request = {
            spec.name: {
                "num_partitions": spec.partitions,
                "replication_factor": spec.replication_factor,
                "configs": spec.configs,
            }
            for spec in specs
        }
        response = admin.create_topics(request, timeout_ms=int(timeout * 1000), raise_errors=False)
        created = _created(response)
        if created:
            admin.wait_for_topics(sorted(created), timeout_ms=int(timeout * 1000))
        existing = _describe(admin, [spec.name for spec in specs])
    return [_outcome(spec, spec.name in created, existing.get(spec.name)) for spec in specs]


def _created(response: dict) -> set[str]:
    from kafka.errors import for_code

    created = set()
    for topic in response["topics"]:
        code = topic["error_code"]
        if code == 0:
            created.add(topic["name"])
        elif code != _TOPIC_ALREADY_EXISTS:
            message = topic.get("error_message") or for_code(code).__name__
            raise BrokerError(f"cannot create topic {topic['name']}: {message}")
    return created


def _outcome(spec: TopicSpec, created: bool, info: TopicInfo | None) -> TopicOutcome:
    if info is None:
        raise BrokerError(f"topic {spec.name} is not in the broker's metadata after creation")
    problems = []
    if info.partitions != spec.partitions:
        problems.append(f"has {info.partitions} partitions, settings say {spec.partitions}")
    wanted_policy = spec.configs.get("cleanup.policy", "delete")
    if wanted_policy not in info.cleanup_policy.split(","):
        problems.append(f"cleanup.policy is {info.cleanup_policy}, should be {wanted_policy}")
    warning = f"{spec.name} already exists and " + "; ".join(problems) if problems else None
    return TopicOutcome(spec.name, created, info.partitions, warning)


def list_topics(kafka: KafkaSettings, *, internal: bool = False, connect_timeout: float = 15.0) -> list[TopicInfo]:
    """Every topic on the broker, sorted by name (``__consumer_offsets`` and co. only if ``internal``)."""
    with admin_client(kafka, connect_timeout) as admin:
        names = [name for name in admin.list_topics() if internal or not name.startswith("__")]
        return sorted(_describe(admin, names).values(), key=lambda info: info.name)


def _describe(admin: Any, names: list[str]) -> dict[str, TopicInfo]:
    return {name: TopicInfo(name, count, _config_value(configs, "cleanup.policy"))
            for name, (count, configs) in _topic_configs(admin, names, ["cleanup.policy"]).items()}


def _topic_configs(admin: Any, names: list[str], keys: list[str]) -> dict[str, tuple[int, dict]]:
    """``name -> (partition count, {key: entry})`` of each of ``names`` that exists: the ``keys``
    in force (the topic's own, else the broker's)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    if not names:
        return {}
    topics = {t["name"]: t for t in admin.describe_topics(names) if t.get("error_code", 0) == 0}
    if not topics:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, keys) for name in topics]
    configs = admin.describe_configs(resources, config_filter="all")["topic"]
    return {name: (len(topic["partitions"]), configs.get(name, {})) for name, topic in topics.items()}


def message_limits(kafka: KafkaSettings, names: list[str], connect_timeout: float = 15.0) -> dict[str, int]:
    """The ``max.message.bytes`` in force (the topic's own, else the broker's) of each of ``names`` that exists."""
    with admin_client(kafka, connect_timeout) as admin:
        found = _topic_configs(admin, names, ["max.message.bytes"])
    return {name: int(_config_value(configs, "max.message.bytes")) for name, (_, configs) in found.items()
            if configs.get("max.message.bytes") is not None}


def _config_value(configs: dict, key: str) -> str:
    entry = configs.get(key)
    if isinstance(entry, dict):
        return str(entry.get("value"))
    return "delete" if entry is None else str(entry)


def group_lag(kafka: KafkaSettings, group: str, topic: str, connect_timeout: float = 15.0) -> int | None:
    """Records of ``topic`` not yet committed by consumer ``group``; None before its first commit."""
    from kafka import KafkaConsumer, TopicPartition

    with admin_client(kafka, connect_timeout) as admin:
        committed = admin.list_group_offsets({group: None}).get(group, {})
    mine = {tp: meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset >= 0}
    consumer = KafkaConsumer(**kafka_python_config(kafka), group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        consumer.close()
    if not mine:
        return None if any(ends.values()) else 0
    return sum(end - mine.get(tp, 0) for tp, end in ends.items())

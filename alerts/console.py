"""The live console feed: one readable line per alert on ``cx.alerts``."""

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from cxpulse.settings import Settings

__all__ = ["alert_line", "follow_alerts"]


def alert_line(alert: dict[str, Any]) -> str:
    """``time  SEVERITY  rule  customer  service_type  summary`` for one alert (a dict from JSON)."""
    moment = alert.get("triggered_at") or ""
    try:
        moment = datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    status = "" if alert.get("status", "firing") == "firing" else f" ({alert['status']})"
    return "  ".join([
        moment,
        f"{str(alert.get('severity', '?')).upper():8}",
        f"{alert.get('rule', '?')}{status:}".ljust(20),
        f"{alert.get('customer_id') or '-':14}",
        f"{alert.get('service_type', '-'):12}",
        str(alert.get("summary", "")),
    ])


def follow_alerts(settings: Settings, *, from_beginning: bool = False, stop: Callable[[], bool] = lambda: False,
                  poll_seconds: float = 0.5) -> Iterator[dict[str, Any]]:
    """Yield alerts from the alerts topic as they arrive (from its end unless ``from_beginning``).

    Reads every partition without a consumer group (a console watches; it never commits).
    Records that are not JSON objects are skipped.
    """
    from kafka import KafkaConsumer, TopicPartition

    from cxpulse.clients import kafka_python_config

    consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None, enable_auto_commit=False)
    try:
        partitions = _partitions(consumer, settings.topics.alerts)
        assigned = [TopicPartition(settings.topics.alerts, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        (consumer.seek_to_beginning if from_beginning else consumer.seek_to_end)(*assigned)
        while not stop():
            for records in consumer.poll(timeout_ms=int(poll_seconds * 1000)).values():
                for record in records:
                    alert = _decode(record.value)
                    if alert is not None:
                        yield alert
    finally:
        consumer.close()


def _partitions(consumer: Any, topic: str, timeout: float = 15.0) -> set[int]:
    from cxpulse.errors import CxpulseError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = consumer.partitions_for_topic(topic)
        if found:
            return found
        time.sleep(0.2)  # metadata refresh; not a test synchronisation
    raise CxpulseError(f"topic {topic} not found (create it with 'cxpulse topics create')")


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        alert = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return alert if isinstance(alert, dict) else None

"""The live console feed: alerts on ``cx.alerts`` as they arrive, one readable line each.

``cxpulse alerts tail`` shows them as a live table on a terminal (:mod:`cxpulse.alerts.live`)
and as these lines otherwise.
"""

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from cxpulse.processors.engine.alerting import score_text
from cxpulse.settings import Settings

__all__ = ["alert_line", "alert_time", "follow_alerts", "score_band"]


def alert_line(alert: dict[str, Any]) -> str:
    """``time  SEVERITY  rule  customer  service_type  segment  score/band  summary`` for one alert (a dict from JSON)."""
    status = "" if alert.get("status", "firing") == "firing" else f" ({alert['status']})"
    return "  ".join([
        alert_time(alert),
        f"{str(alert.get('severity', '?')).upper():8}",
        f"{alert.get('rule', '?')}{status:}".ljust(20),
        f"{alert.get('customer_id') or '-':14}",
        f"{alert.get('service_type', '-'):12}",
        f"{alert.get('segment') or '-':10}",
        f"{score_band(alert):16}",
        str(alert.get("summary", "")),
    ])


def alert_time(alert: dict[str, Any]) -> str:
    """``triggered_at`` as ``YYYY-MM-DD HH:MM:SS`` (as given when it does not parse)."""
    moment = alert.get("triggered_at") or ""
    try:
        return datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(moment)


def score_band(alert: dict[str, Any]) -> str:
    """``"43.5 at_risk"``, or ``-`` for an alert without a score (incidents)."""
    score, band = alert.get("score"), alert.get("risk_band")
    if not isinstance(score, (int, float)):
        return band or "-"
    return f"{score_text(score)} {band or ''}".strip()


def follow_alerts(settings: Settings, *, from_beginning: bool = False, stop: Callable[[], bool] = lambda: False,
                  poll_seconds: float = 0.5, on_ready: Callable[[], None] = lambda: None) -> Iterator[dict[str, Any]]:
    """Yield alerts from the alerts topic as they arrive (from its end unless ``from_beginning``).

    Reads every partition without a consumer group (a console watches; it never commits).
    Records that are not JSON objects are skipped. ``on_ready`` is called once the start
    positions are fixed: every alert written after that call will be yielded.
    """
    from kafka import KafkaConsumer, TopicPartition

    from cxpulse.clients import kafka_python_config

    consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None, enable_auto_commit=False)
    try:
        partitions = _partitions(consumer, settings.topics.alerts)
        assigned = [TopicPartition(settings.topics.alerts, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        (consumer.seek_to_beginning if from_beginning else consumer.seek_to_end)(*assigned)
        for partition in assigned:
            consumer.position(partition)  # resolve the lazy seek now, not at the first poll
        on_ready()
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

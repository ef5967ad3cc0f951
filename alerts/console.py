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

from cxpulse.errors import BrokerError, CxpulseError
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


def follow_alerts(settings: Settings, *, from_beginning: bool = False, since: float | None = None,
                  exit_at_end: bool = False, stop: Callable[[], bool] = lambda: False, poll_seconds: float = 1.0,
                  on_ready: Callable[[], None] = lambda: None, ticks: bool = False) -> Iterator[dict[str, Any] | None]:
    """Yield alerts from the alerts topic as they arrive (from its end unless told otherwise).

    Reads every partition without a consumer group (a console watches; it never commits).
    Start: the oldest alert (``from_beginning``), the first written at or after ``since``
    (epoch seconds, by record time), else the end. ``exit_at_end``: stop once every alert
    written before the start has been read. Records that are not JSON objects are skipped.
    ``on_ready`` is called once the start positions are fixed: every alert written after
    that call will be yielded. ``ticks``: also yield ``None`` after each poll (a caller that
    redraws can do so once per batch). A broker that cannot be reached is a one-line
    :class:`BrokerError`; waiting costs one poll per ``poll_seconds``.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    from cxpulse.broker import broker_answers
    from cxpulse.clients import kafka_python_config

    address = settings.kafka.bootstrap_servers
    if not broker_answers(address, 5.0, settings.kafka):
        raise BrokerError(f"cannot reach Kafka at {address} (is a broker running? 'cxpulse kafka up' starts one)")
    try:
        consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None, enable_auto_commit=False)
    except (KafkaError, OSError) as exc:
        raise BrokerError(f"cannot reach Kafka at {address}: {exc}") from None
    try:
        partitions = _partitions(consumer, settings.topics.alerts)
        assigned = [TopicPartition(settings.topics.alerts, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        _seek(consumer, assigned, from_beginning, since)
        ends = consumer.end_offsets(assigned) if exit_at_end else {}
        on_ready()
        while not stop():
            if exit_at_end and all(consumer.position(tp) >= ends[tp] for tp in assigned):
                return
            for records in consumer.poll(timeout_ms=int(poll_seconds * 1000)).values():
                for record in records:
                    alert = _decode(record.value)
                    if alert is not None:
                        yield alert
            if ticks:
                yield None
    except KafkaError as exc:
        raise BrokerError(f"reading {settings.topics.alerts} from Kafka at {address} failed: {exc}") from None
    finally:
        consumer.close()


def _seek(consumer: Any, assigned: list[Any], from_beginning: bool, since: float | None) -> None:
    if from_beginning:
        consumer.seek_to_beginning(*assigned)
    elif since is not None:
        found = consumer.offsets_for_times({tp: max(0, int(since * 1000)) for tp in assigned})
        for tp in assigned:
            if found.get(tp) is None:
                consumer.seek_to_end(tp)  # nothing written since then
            else:
                consumer.seek(tp, found[tp].offset)
    else:
        consumer.seek_to_end(*assigned)
    for partition in assigned:
        consumer.position(partition)  # resolve the lazy seek now, not at the first poll


def _partitions(consumer: Any, topic: str, timeout: float = 15.0) -> set[int]:
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

"""The alerts the live pipeline emitted for a range, read back from ``cx.alerts``.

Alerts are written moments after the events that cause them, so the alerts of a range
are the ``cx.alerts`` records stamped within it, plus ``grace`` after its end for the
worker's processing delay. With ``customer``, only that key's partition is read.
"""

from dataclasses import dataclass, field

from pydantic import ValidationError

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.schemas import Alert
from cxpulse.settings import Settings

from .kafka_source import KafkaRangeReader
from .ranges import merge_partitions

__all__ = ["LiveAlerts", "read_live_alerts"]


@dataclass
class LiveAlerts:
    """Alerts read from ``cx.alerts`` for ``[since_ms, until_ms)`` and how many records were unreadable."""

    alerts: list[Alert] = field(default_factory=list)
    unreadable: int = 0
    since_ms: int | None = None
    until_ms: int | None = None


def read_live_alerts(settings: Settings, since_ms: int | None, until_ms: int | None,
                     customer: str | None = None) -> LiveAlerts:
    """Every alert on the alerts topic stamped in ``[since_ms, until_ms)``."""
    found = LiveAlerts(since_ms=since_ms, until_ms=until_ms)
    key = None if customer is None else customer.encode("utf-8")
    with KafkaRangeReader(settings.kafka, settings.topics.alerts) as reader:
        ranges = reader.plan(reader.partitions(key), since_ms, until_ms)
        for record in merge_partitions(reader.streams(ranges)) if any(r.size for r in ranges) else ():
            alert = _alert(record, found)
            if alert is not None and (customer is None or alert.customer_id == customer):
                found.alerts.append(alert)
    return found


def _alert(record: SourceRecord, found: LiveAlerts) -> Alert | None:
    try:
        return Alert.model_validate_json(record.value_bytes() or b"")
    except ValidationError:
        found.unreadable += 1
        return None

"""Fixtures for the worker's pure parts: a scoring pipeline with metrics and no Kafka.

    metrics_pipeline_factory(service_types=..., partitions=1) -> MetricsPipeline
        The real ScoringProcessor and IncidentProcessor over in-memory stores, with a
        WorkerMetrics on a fresh CollectorRegistry. ``batch(records, now=...)`` runs one
        batch as the worker does and records its metrics; ``value(name, **labels)``
        reads a sample (0.0 when the series does not exist).
"""

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry

from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.engine import Engine, EngineSettings, IncidentEngine
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.metrics import WorkerMetrics
from cxpulse.processors.worker.records import contact_from_bytes  # noqa: F401 - re-exported for tests
from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor
from cxpulse.processors.worker.faustapp.writer import key_partition

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
HOUR = 3600.0
DAY = 86400.0


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


class Events:
    """JSON events as the wire carries them; ids are numbered."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def _common(self, kind: str, t: float, customer: str, service_type: str, channel: str, segment: str,
                event_id: str | None) -> dict[str, Any]:
        return {"event_id": event_id or f"e{next(self._ids)}", "event_type": kind, "customer_id": customer,
                "occurred_at": at(t), "channel": channel, "service_type": service_type, "segment": segment}

    def call(self, t: float, customer: str = "C-1", service_type: str = "billing", channel: str = "phone",
             segment: str = "standard", outcome: str = "callback", complaint: bool = False,
             event_id: str | None = None) -> dict[str, Any]:
        return {**self._common("call", t, customer, service_type, channel, segment, event_id),
                "direction": "inbound", "wait_seconds": 10, "talk_seconds": 60, "outcome": outcome,
                "is_complaint": complaint}

    def ticket(self, t: float, ticket_id: str, action: str = "opened", customer: str = "C-1",
               service_type: str = "billing", channel: str = "web", segment: str = "standard",
               due: float | None = None, event_id: str | None = None) -> dict[str, Any]:
        body = {**self._common("ticket", t, customer, service_type, channel, segment, event_id),
                "ticket_id": ticket_id, "action": action}
        if due is not None:
            body["due_at"] = at(due)
        return body

    def feedback(self, t: float, score: int, customer: str = "C-1", service_type: str = "billing",
                 channel: str = "app", segment: str = "standard", survey: str = "csat",
                 event_id: str | None = None) -> dict[str, Any]:
        return {**self._common("feedback", t, customer, service_type, channel, segment, event_id),
                "survey": survey, "score": score}

    def account(self, t: float, action: str = "cancelled", customer: str = "C-1", segment: str = "standard",
                event_id: str | None = None) -> dict[str, Any]:
        return {**self._common("account", t, customer, "account", "web", segment, event_id), "action": action}


    def start(self, t: float, contact_id: str, customer: str = "C-1", service_type: str = "billing",
              channel: str = "phone", segment: str = "standard", event_id: str | None = None) -> dict[str, Any]:
        return {**self._common("contact_started", t, customer, service_type, channel, segment, event_id),
                "contact_id": contact_id}


def faust_message(topic: str, partition: int, offset: int, key: bytes | None, value: bytes,
                  timestamp: float = 0.0) -> Message:
    """A record as faust's consumer hands it over (faust's own ``Message``; ``timestamp`` in seconds)."""
    return Message(topic, partition, offset, timestamp, 0, None, key, value, None, tp=TP(topic, partition))


class ListSink:
    """A ``Sink`` that keeps ``(topic, key, value, partition)``."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, int | None]] = []

    def add(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None) -> None:
        self.records.append((topic, key, value, partition))


@dataclass
class MetricsPipeline:
    registry: CollectorRegistry
    metrics: WorkerMetrics
    scoring: ScoringProcessor
    incidents: IncidentProcessor
    partitions: int
    offsets: itertools.count = field(default_factory=itertools.count)
    contacts: list = field(default_factory=list)

    def message(self, value: bytes, key: bytes | None, timestamp: float) -> Message:
        partition = key_partition(key, self.partitions) if key else 0
        return faust_message("cx.events", partition, next(self.offsets), key, value, timestamp)

    def batch(self, events: Iterable[dict[str, Any] | bytes], now: float | None = None,
              record_time: float | None = None) -> Any:
        """Run one ``score_events`` batch; ``now`` (epoch s) is when it ends, the records' time ``record_time``."""
        messages = []
        for event in events:
            if isinstance(event, bytes):
                messages.append(self.message(event, b"bad", record_time or 0.0))
                continue
            occurred = datetime.fromisoformat(event["occurred_at"]).timestamp()
            messages.append(self.message(orjson.dumps(event), event["customer_id"].encode(),
                                         record_time if record_time is not None else occurred))
        effects, state = ListSink(), ListSink()
        stats = self.scoring.process(messages, effects, state, "2025-03-03T09:00:00+00:00")
        end = now if now is not None else max((m.timestamp for m in messages), default=0.0) + 1.0
        self.metrics.observe_batch(stats.observed, stats.invalid, stats.touched, 0.004, end,
                                   redelivered=stats.redelivered)
        self.contacts += [r for r in effects.records if r[0] == "contacts"]
        return stats

    def detect_incidents(self) -> int:
        """Run the queued contacts through the incident agent's processor."""
        messages = [faust_message("contacts", 0, n, k, v) for n, (_, k, v, _) in enumerate(self.contacts)]
        self.contacts = []
        raised: list = []
        count = self.incidents.process(messages, ListSink(), ListSink(), "2025-03-03T09:00:00+00:00", raised)
        self.metrics.observe_incidents(raised, 0.002)
        return count

    def value(self, name: str, **labels: str) -> float:
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def metrics_pipeline_factory() -> Callable[..., MetricsPipeline]:
    def build(service_types: Iterable[str] = ("billing", "repair", "outage"), partitions: int = 1,
              engine: EngineSettings | None = None) -> MetricsPipeline:
        settings = engine or EngineSettings()
        registry = CollectorRegistry()
        engine_ = Engine(settings)
        metrics = WorkerMetrics(registry, service_types, engine_.band, "test-app")
        topics = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")
        scoring = ScoringProcessor(engine_, topics, {}, SlaClock(), 86400.0)
        incidents = IncidentProcessor(IncidentEngine(settings), {}, "alerts", "incident-changelog")
        return MetricsPipeline(registry, metrics, scoring, incidents, partitions)

    return build

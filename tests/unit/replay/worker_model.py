"""The live worker's own batch code (``ScoringProcessor``, ``IncidentProcessor``) without faust.

Batches of records go through exactly the code the ``score_events`` and
``detect_incidents`` agents run, with dicts for the tables and lists for the topics: the
reference the replay must agree with.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.engine import Engine, EngineSettings, IncidentEngine
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.scoring import OutputTopics, ScoringProcessor

__all__ = ["LiveModel", "Message"]

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")


@dataclass(frozen=True)
class Message:
    """What faust hands the agent: timestamps in seconds."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float

    @classmethod
    def of(cls, record: SourceRecord) -> "Message":
        return cls(record.key, record.value_bytes(), "cx.events", record.partition, record.offset,
                   record.timestamp / 1000)


class _Topic:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    def add(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None) -> None:
        self.records.append((topic, key, value))


class LiveModel:
    """The worker: feed it batches with :meth:`batch`; read alerts, dead letters and states."""

    def __init__(self, settings: EngineSettings | None = None, max_future_seconds: float = 86400.0) -> None:
        engine = Engine(settings)
        self.store: dict[bytes, bytes] = {}
        self.incident_store: dict[bytes, bytes] = {}
        self.scoring = ScoringProcessor(engine, TOPICS, self.store, SlaClock(), max_future_seconds)
        self.incidents = IncidentProcessor(IncidentEngine(settings), self.incident_store, "alerts", "changelog")
        self.engine = engine
        self.out = _Topic()
        self.last_scores: dict[str, dict] = {}

    def batch(self, records: Iterable[SourceRecord]) -> None:
        """One ``score_events`` batch, then one ``detect_incidents`` batch of the contacts it wrote."""
        effects, state = _Topic(), _Topic()
        self.scoring.process([Message.of(r) for r in records], effects, state, "2030-01-01T00:00:00+00:00")
        for topic, key, value in state.records:
            if topic == "scores":
                self.last_scores[key.decode()] = orjson.loads(value)
        contacts = [Message(k, v, "contacts", 0, 0, 0.0) for t, k, v in effects.records if t == "contacts"]
        self.out.records += [r for r in effects.records if r[0] != "contacts"]
        if contacts:
            found = _Topic()
            self.incidents.process(contacts, found, _Topic(), "2030-01-01T00:00:00+00:00")
            self.out.records += found.records

    def alerts(self) -> list[dict]:
        """Every alert written, ``emitted_at`` left out."""
        return [_without_emitted(orjson.loads(v)) for t, _, v in self.out.records if t == "alerts"]

    def dead_letters(self) -> list[dict]:
        return [orjson.loads(v) for t, _, v in self.out.records if t == "dlq"]

    def scores(self) -> dict[str, dict]:
        """The last snapshot of every customer the worker wrote to ``cx.scores``."""
        return dict(self.last_scores)


def _without_emitted(alert: dict) -> dict:
    alert.pop("emitted_at", None)
    return alert

"""One set of tests for the orchestration core, run through both of its users.

``reader`` is parametrized: ``replay`` is :class:`EngineDriver` (a dict store, inline
incidents, idleness by record time); ``worker`` is the live worker's own batch code
(``ScoringProcessor`` + ``SlaClock`` with a fake wall clock, and ``IncidentProcessor`` fed
the contacts and marks it writes), one record per batch. A scenario written once must
give both the same alerts: that is what keeps a replay of what the worker read equal to it.

    reader.read(partition, event, at=None) -> alerts (JSON dicts) the record caused
        ``event`` is a wire event (tests/unit/worker/conftest.py ``Events``); ``at`` is
        the record's Kafka timestamp and the moment it is read (epoch seconds; default
        one second after the event's time).
    reader.wait(at) -> alerts of a look at idle partitions at ``at`` with nothing read
    reader.failed -> dead-letter reasons of records whose processing raised
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from cxpulse.processors.engine import Engine, EngineDriver, EngineSettings, IncidentEngine, RecordFailed
from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.scoring import BatchStats, OutputTopics, ScoringProcessor
from cxpulse.schemas import parse_event

from tests.unit.worker.conftest import Events, ListSink, faust_message

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")
EMITTED = "2030-01-01T00:00:00+00:00"


def occurred(event: dict) -> float:
    return datetime.fromisoformat(event["occurred_at"]).timestamp()


class ReplayReader:
    kind = "replay"

    def __init__(self, settings: EngineSettings, engine: Engine | None = None) -> None:
        # engine: the same core, driving another engine (fault injection)
        self.driver = EngineDriver(settings, engine=engine)
        self.failed: list[str] = []
        self.alerts: list[dict] = []

    def read(self, partition: int, event: dict, at: float | None = None) -> list[dict]:
        at = occurred(event) + 1.0 if at is None else at
        try:
            found = self.driver.feed(parse_event(orjson.dumps(event)), partition, at)
        except RecordFailed as failure:
            self.failed.append(failure.reason)
            found = failure.alerts
        return self._out(found)

    def wait(self, at: float) -> list[dict]:
        return self._out(self.driver.tick(at))

    def _out(self, alerts: list) -> list[dict]:
        found = [a.model_dump(mode="json") for a in alerts]
        self.alerts += found
        return found


class WorkerReader:
    kind = "worker"

    def __init__(self, settings: EngineSettings, engine: Engine | None = None) -> None:
        self.now = 0.0
        self.clock = SlaClock(settings.partition_idle_seconds, wall=lambda: self.now)
        self.scoring = ScoringProcessor(engine or Engine(settings), TOPICS, {}, self.clock, 86400.0,
                                        source_partitions=None)
        self.incidents = IncidentProcessor(IncidentEngine(settings), {}, "alerts", "changelog")
        self.offset = 0
        self.failed: list[str] = []
        self.alerts: list[dict] = []

    def read(self, partition: int, event: dict, at: float | None = None) -> list[dict]:
        at = occurred(event) + 1.0 if at is None else at
        self.now = at
        self.offset += 1
        message = faust_message("cx.events", partition, self.offset, event["customer_id"].encode(), orjson.dumps(event), at)
        effects = ListSink()
        stats = self.scoring.process([message], effects, ListSink(), EMITTED)
        if stats.failed:
            self.failed += [orjson.loads(v or b"null")["error"] for t, _, v, _ in effects.records if t == "dlq"]
        return self._out(effects)

    def wait(self, at: float) -> list[dict]:
        self.now = at
        effects = ListSink()
        self.scoring.sweep({}, effects, EMITTED, BatchStats())
        return self._out(effects)

    def _out(self, effects: ListSink) -> list[dict]:
        found = [orjson.loads(v or b"null") for t, _, v, _ in effects.records if t == "alerts"]
        contacts = [faust_message("contacts", 0, n, k, v or b"") for n, (t, k, v, _) in enumerate(effects.records)
                    if t == "contacts"]
        raised: list = []
        self.incidents.process(contacts, ListSink(), ListSink(), EMITTED, raised)
        found += [a.model_dump(mode="json") for a in raised]
        self.alerts += found
        return found


READERS = {"replay": ReplayReader, "worker": WorkerReader}


@pytest.fixture(params=sorted(READERS))
def reader_factory(request) -> Callable[..., Any]:
    """``reader_factory(settings=None, engine=None)``: a fresh reader of the parametrized kind."""
    def build(settings: EngineSettings | None = None, engine: Engine | None = None) -> Any:
        return READERS[request.param](settings or EngineSettings(), engine)
    return build


@pytest.fixture
def reader(reader_factory):
    return reader_factory()


@pytest.fixture
def events() -> Events:
    return Events()


def breaches(alerts: list[dict]) -> list[tuple[str, str]]:
    return [(a["customer_id"], a["status"]) for a in alerts if a["rule"] == "sla_breach"]

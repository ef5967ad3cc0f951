"""The worker's per-partition stream clock: skewed partitions, idle partitions, marks for incidents.

The wall clock is a fake here (``SlaClock(wall=...)``): idleness is wall time in the worker.
"""

from datetime import datetime
from types import SimpleNamespace

import orjson

from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.engine import Engine, EngineSettings, IncidentEngine
from cxpulse.processors.worker.incidents import IncidentProcessor
from cxpulse.processors.worker.records import mark_from_bytes
from cxpulse.processors.worker.scoring import BatchStats, OutputTopics, ScoringProcessor

from .conftest import HOUR, ListSink

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")


class Wall:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Worker:
    """A ScoringProcessor with a fake wall clock, an IncidentProcessor fed its contacts and marks."""

    def __init__(self, idle: float = 30.0, settings: EngineSettings | None = None) -> None:
        self.wall = Wall()
        self.clock = SlaClock(idle, wall=self.wall)
        self.scoring = ScoringProcessor(Engine(settings), TOPICS, {}, self.clock, 86400.0, source_partitions=3)
        self.incidents = IncidentProcessor(IncidentEngine(settings), {}, "alerts", "changelog")
        self.alerts: list[dict] = []
        self.offset = 0

    def batch(self, *events: tuple[int, dict]) -> list[dict]:
        messages = []
        for partition, event in events:
            self.offset += 1
            messages.append(SimpleNamespace(key=event["customer_id"].encode(), value=orjson.dumps(event),
                                            topic="cx.events", partition=partition, offset=self.offset,
                                            timestamp=2_000_000_000.0))
        effects = ListSink()
        self.scoring.process(messages, effects, ListSink(), "2030-01-01T00:00:00+00:00")
        return self._out(effects)

    def tick(self) -> list[dict]:
        """The SLA timer."""
        effects = ListSink()
        self.scoring.sweep({}, effects, "2030-01-01T00:00:00+00:00", BatchStats())
        return self._out(effects)

    def _out(self, effects: ListSink) -> list[dict]:
        found = [orjson.loads(v) for t, _, v, _ in effects.records if t == "alerts"]
        contacts = [SimpleNamespace(key=k, value=v, partition=0) for t, k, v, _ in effects.records if t == "contacts"]
        raised: list = []
        self.incidents.process(contacts, ListSink(), ListSink(), "2030-01-01T00:00:00+00:00", raised)
        found += [a.model_dump(mode="json") for a in raised]
        self.alerts += found
        return found


def breaches(alerts: list[dict]) -> list[tuple[str, str]]:
    return [(a["customer_id"], a["status"]) for a in alerts if a["rule"] == "sla_breach"]


def test_a_partition_read_far_ahead_never_breaches_a_ticket_resolved_on_time_on_its_own(events):
    worker = Worker()
    worker.batch((0, events.ticket(0, "T-1", customer="A", due=HOUR)))
    # A backlog: partition 1 is read three days ahead before partition 0's resolution.
    worker.batch(*[(1, events.call(h * HOUR, customer=f"B-{h}")) for h in range(1, 72)])
    worker.wall.now += 5  # well within the idle period
    worker.tick()
    worker.batch((0, events.ticket(HOUR - 60, "T-1", "resolved", customer="A")))
    assert breaches(worker.alerts) == []


def test_a_ticket_breaches_when_its_own_partition_passes_the_due_time(events):
    worker = Worker()
    worker.batch((0, events.ticket(0, "T-1", customer="A", due=HOUR)))
    found = worker.batch((0, events.call(2 * HOUR, customer="C")), (0, events.call(3 * HOUR, customer="D")))
    assert breaches(found) == [("A", "firing")]
    assert [a["rule"] for a in found].index("sla_breach") < 2  # right after the event that passed the due time


def test_an_idle_partition_follows_the_overall_clock_after_the_idle_wall_time(events):
    worker = Worker(idle=30)
    worker.batch((0, events.ticket(0, "T-1", customer="A", due=HOUR)))
    worker.batch((1, events.call(DAY, customer="B")))
    worker.wall.now += 29
    assert breaches(worker.tick()) == []  # partition 0 quiet for 29 s: still its own clock
    worker.wall.now += 1
    assert breaches(worker.tick()) == [("A", "firing")]  # idle: the overall clock (a day later) applies


def test_marks_carry_each_partitions_clock_and_idle_as_null(events):
    worker = Worker(idle=30)
    effects = ListSink()
    worker.scoring.process([SimpleNamespace(key=b"A", value=orjson.dumps(events.call(0, customer="A")), topic="cx.events",
                                            partition=2, offset=1, timestamp=2_000_000_000.0)],
                           effects, ListSink(), "x")
    (mark,) = [mark_from_bytes(v) for t, k, v, _ in effects.records if t == "contacts" and k is None]
    assert mark == ({2: occurred_at_of_t0(events)}, 3)
    worker.wall.now += 30
    effects = ListSink()
    worker.scoring.sweep({}, effects, "x", BatchStats())
    (mark,) = [mark_from_bytes(v) for t, k, v, _ in effects.records if t == "contacts" and k is None]
    assert mark == ({2: float("inf")}, 3)


def occurred_at_of_t0(events) -> float:
    return datetime.fromisoformat(events.call(0)["occurred_at"]).timestamp()


def test_incidents_are_raised_once_every_partition_has_passed_the_window(events):
    settings = EngineSettings(incident_customers=3)
    worker = Worker(settings=settings)
    worker.scoring.source_partitions = 2
    outage = [(p, events.call(i * 60, customer=f"O-{i}", service_type="outage")) for i, p in enumerate((0, 1, 0))]
    assert worker.batch(*outage) == []
    assert worker.batch((0, events.call(HOUR, customer="X"))) == []  # partition 1 still at 60 s
    found = worker.batch((1, events.call(HOUR, customer="Y")))
    assert [(a["rule"], a["triggered_at"]) for a in found] == [("incident", "2025-03-03T09:02:00Z")]
    assert found[0]["evidence"] == [e["event_id"] for _, e in outage]


DAY = 24 * HOUR

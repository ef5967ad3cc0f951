"""What only the worker has: the marks it writes for the incident agent, and its rebuild."""

from datetime import datetime

import orjson

from cxpulse.processors.engine import CustomerState, Engine
from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.worker.records import mark_from_bytes
from cxpulse.processors.worker.scoring import BatchStats, OutputTopics, ScoringProcessor

from tests.unit.worker.conftest import HOUR, ListSink, faust_message

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")


class Wall:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _marks(effects: ListSink) -> list:
    return [mark_from_bytes(v) for t, k, v, _ in effects.records if t == "contacts" and k is None]


def test_marks_carry_each_partitions_clock_idle_as_null_and_the_overall_clock(events):
    wall = Wall()
    scoring = ScoringProcessor(Engine(), TOPICS, {}, SlaClock(30, wall=wall), 86400.0, source_partitions=3)
    event = events.call(0, customer="A")
    t0 = datetime.fromisoformat(event["occurred_at"]).timestamp()
    effects = ListSink()
    scoring.process([faust_message("cx.events", 2, 1, b"A", orjson.dumps(event), 2_000_000_000.0)], effects, ListSink(), "x")
    assert _marks(effects) == [({2: t0}, 3, t0)]
    wall.now += 30
    effects = ListSink()
    scoring.sweep({}, effects, "x", BatchStats())
    assert _marks(effects) == [({2: float("inf")}, 3, t0)]


def test_a_rebuilt_clock_is_not_moved_by_a_stored_future_dated_state(events):
    # A customer whose latest event was dated ahead (within the future limit) is stored; a
    # restart rebuilds the clock from the stored states: no further than now (plus the lead).
    now = datetime.fromisoformat(events.call(0)["occurred_at"]).timestamp()
    clock = SlaClock(30, wall=Wall(), epoch=lambda: now)
    scoring = ScoringProcessor(Engine(), TOPICS, {}, clock, 86400.0)
    a, b = CustomerState("A"), CustomerState("B")
    scoring.engine.step(a, _event(events.ticket(0, "T-1", customer="A", due=2 * HOUR)))
    scoring.engine.step(b, _event(events.call(23 * HOUR, customer="B")))
    clock.rebuild([(a, 0), (b, 0)], owned=[0])
    assert clock.now == now
    effects = ListSink()
    scoring.sweep({}, effects, "x", BatchStats())
    assert [r for r in effects.records if r[0] == "alerts"] == []


def _event(body: dict):
    from cxpulse.schemas import parse_event
    return parse_event(orjson.dumps(body))

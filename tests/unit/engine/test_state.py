"""De-duplication, serialisation and bounded size of the per-customer state."""

import random

import pytest

from cxpulse.processors.engine import CustomerState, Engine, EngineSettings, StateError

from .factories import DAY, HOUR, EventFactory, random_stream, run


def test_duplicate_event_changes_nothing_and_emits_nothing():
    f = EventFactory()
    first = [f.call(0, complaint=True), f.call(1, complaint=True), f.call(2)]
    r = run(first)
    before = r.state.to_bytes()
    again = r.engine.step(r.state, first[1])
    assert again.duplicate and again.alerts == [] and again.signals == () and again.contact is None
    assert r.state.to_bytes() == before


def test_ids_beyond_the_ring_are_forgotten():
    f = EventFactory()
    events = [f.feedback(i, "nps", 8) for i in range(5)]
    r = run(events, dedup_event_ids=3)
    assert r.state.seen_ids == [e.event_id for e in events[2:]]
    assert not r.engine.step(r.state, events[0]).duplicate
    assert r.engine.step(r.state, events[4]).duplicate


def test_round_trip_is_exact():
    events = random_stream(random.Random(1), 300, customers=1, late_fraction=0.1)
    state = run(events).state
    data = state.to_bytes()
    assert CustomerState.from_bytes(data) == state
    assert CustomerState.from_bytes(data).to_bytes() == data


@pytest.mark.parametrize("seed", range(5))
def test_restored_state_continues_identically(seed):
    events = random_stream(random.Random(seed), 400, customers=1, late_fraction=0.1)
    cut = len(events) // 2
    engine = Engine()
    straight = run(events)
    state = None
    for event in events[:cut]:
        state = engine.step(state, event).state
    tail = []
    state = CustomerState.from_bytes(state.to_bytes())
    for event in events[cut:]:
        result = engine.step(state, event)
        state = CustomerState.from_bytes(result.state.to_bytes())
        tail.append(result)
    assert state.to_bytes() == straight.state.to_bytes()
    assert [a.model_dump() for r in tail for a in r.alerts] == [
        a.model_dump() for r in straight.results[cut:] for a in r.alerts]


@pytest.mark.parametrize("data, message", [
    (b"not json", "cannot decode"), (b"[99]", "unsupported version"), (b"[1, 2]", "cannot decode"),
])
def test_bad_bytes_raise_a_state_error(data, message):
    with pytest.raises(StateError, match=message):
        CustomerState.from_bytes(data)


def test_state_stays_bounded_under_a_long_random_stream():
    settings = EngineSettings(dedup_event_ids=16, max_open_tickets=8, recent_alerts=5,
                              max_window_events=10, max_service_types=4)
    rng = random.Random(7)
    services = tuple(f"svc{i}" for i in range(12))
    engine, state, sizes = Engine(settings), None, []
    for event in random_stream(rng, 6000, customers=1, services=services, span=400 * DAY, late_fraction=0.05):
        state = engine.step(state, event).state
        sizes.append(len(state.to_bytes()))
        assert len(state.seen_ids) <= 16 and len(state.tickets) <= 8 and len(state.recent) <= 5
        assert len(state.contacts) <= 4 + 1 and len(state.grievances) <= 4 + 1
        assert all(len(lst) <= 10 for lst in (*state.contacts.values(), *state.grievances.values()))
        assert len(state.closed) <= settings.closed_tickets_kept
        assert len(state.cooldowns) <= 6 * 12 + 1
    assert max(sizes) < 12_000
    # A burst does not grow it further than the bounds.
    burst = [EventFactory().call(401 * DAY + i, event_id=f"b{i}") for i in range(500)]
    for event in burst:
        state = engine.step(state, event).state
    assert len(state.to_bytes()) < 12_000


def test_a_typical_state_is_small():
    f = EventFactory(customer_id="C-000123")
    r = run([f.call(0), f.ticket(HOUR, due=DAY), f.feedback(2 * HOUR, "csat", 4)])
    assert len(r.state.to_bytes()) < 600

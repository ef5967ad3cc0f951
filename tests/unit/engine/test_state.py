"""De-duplication, serialisation and bounded size of the per-customer state."""

import random
from pathlib import Path

import pytest

from cxpulse.processors.engine import CustomerState, Engine, EngineSettings, StateError
from cxpulse.processors.engine.state import id_mask

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


@pytest.mark.parametrize("seed", range(20))
def test_duplicates_are_exactly_the_ids_in_the_ring(seed):
    # The ring's filter (CustomerState.seen_mask) only skips scans: the rule is the ring's ids,
    # through ring evictions, filter rebuilds, decoded states and rings assigned from outside.
    rng = random.Random(seed)
    engine = Engine(EngineSettings(dedup_event_ids=5))
    f = EventFactory()
    state, ring, sent, dups, readmitted = None, [], [], 0, 0
    for i in range(300):
        resent = bool(sent) and rng.random() < 0.4
        if resent:
            event = rng.choice(sent[-12:])  # recent ones: in the ring or just out of it
        else:
            event = f.feedback(i, "nps", 8)
            sent.append(event)
        result = engine.step(state, event)
        assert result.duplicate == (event.event_id in ring)
        dups += result.duplicate
        readmitted += resent and not result.duplicate
        if not result.duplicate:
            ring = (ring + [event.event_id])[-5:]
        state = result.state
        assert state.seen_ids == ring
        assert state.seen_of is state.seen_ids and id_mask(ring) & ~state.seen_mask == 0  # holds every id's bit
        if rng.random() < 0.05:
            state = CustomerState.from_bytes(state.to_bytes())
        elif rng.random() < 0.05:
            state.seen_ids = list(state.seen_ids)
    assert dups > 20 and readmitted > 20  # both: ids in the ring, and ids read again once out of it


def test_round_trip_is_exact():
    events = random_stream(random.Random(1), 300, customers=1, late_fraction=0.1)
    state = run(events).state
    data = state.to_bytes()
    assert CustomerState.from_bytes(data) == state
    assert CustomerState.from_bytes(data).to_bytes() == data


def test_the_source_position_round_trips_and_is_not_state():
    state = run(random_stream(random.Random(2), 200, customers=1)).state
    plain = state.to_bytes()
    state.source = (3, 41_207)
    data = state.to_bytes()
    assert data.startswith(b"[3,") and data != plain
    restored = CustomerState.from_bytes(data)
    assert restored.source == (3, 41_207) and restored.to_bytes() == data
    assert restored == CustomerState.from_bytes(plain)  # equality leaves the position out
    restored.source = None
    assert restored.to_bytes() == plain  # and without one the bytes are the engine's own


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


# The four shapes a customer state row has been written in (docs/rules.md, "State size"):
# version 1 as main wrote it before contact ids and outcomes, version 1 with the contact ids
# the agent-warning branch appended, version 2 with main's outcome last, and both together.
_FIXED = (b'"C-7",12.5,1714557600.0,"standard",3,["e1","e2","e3"],{"billing":[[1714557600.0,"e1",0]]},'
          b'{"billing":[[1714557600.0,"e1"]]},1714557600.0,1717149600.0,'
          b'{"T-1":["billing",1714644000.0,2,null,0,1714557600.0,["e2"]]},{},'
          b'[["sensitive_contact","billing",1714557600.0,1]],0,[],[],-1e+18')
_IDS, _OUTCOME = b'[["K-1","billing",1714557600.0,"e1",1]]', b'["cancelled",1714644000.0]'
_CONTACT_IDS = [("K-1", "billing", 1714557600.0, "e1", 1)]


@pytest.mark.parametrize("data, contact_ids, outcome", [
    (b"[3," + _FIXED + b",[],null,[2,7]]", [], None),
    (b"[3," + _FIXED + b"," + _IDS + b"," + _OUTCOME + b",[2,7]]", _CONTACT_IDS, ("cancelled", 1714644000.0)),
    (b"[1," + _FIXED + b"]", [], None),
    (b"[1," + _FIXED + b"," + _IDS + b"]", _CONTACT_IDS, None),
    (b"[2," + _FIXED + b"," + _OUTCOME + b"]", [], ("cancelled", 1714644000.0)),
    (b"[2," + _FIXED + b"," + _IDS + b"," + _OUTCOME + b"]", _CONTACT_IDS, ("cancelled", 1714644000.0)),
], ids=["v3-source", "v3-everything", "v1", "v1-contact-ids", "v2-outcome", "v2-contact-ids-and-outcome"])
def test_every_written_state_shape_decodes_and_keeps_its_bytes(data, contact_ids, outcome):
    state = CustomerState.from_bytes(data)
    assert state.source == ((2, 7) if data.startswith(b"[3,") else None)

    assert (state.customer_id, state.penalty, state.seen_ids) == ("C-7", 12.5, ["e1", "e2", "e3"])
    assert state.cooldowns == {("sensitive_contact", "billing"): (1714557600.0, 1)}
    assert state.tickets["T-1"].complaint and state.due_min == 1714644000.0
    assert state.contact_ids == contact_ids and state.outcome == outcome
    assert state.to_bytes() == data


@pytest.mark.parametrize("data", [
    b"[1," + _FIXED + b"," + _IDS + b"," + _OUTCOME + b"]",  # version 1 never carries an outcome
    b"[2," + _FIXED + b"," + _IDS + b"," + _IDS + b"," + _OUTCOME + b"]",
    b"[2," + _FIXED + b"]",  # version 2 always ends with its outcome
    b"[3," + _FIXED + b",[],null]",  # version 3 always ends with its source position
    b"[3," + _FIXED + b",[],[2,7]]",
])
def test_a_state_row_of_no_written_shape_is_a_state_error(data):
    with pytest.raises(StateError):
        CustomerState.from_bytes(data)


def test_equality_compares_every_field():
    # The compiled class has no __slots__ at run time: its source's list is the one to match.
    import ast

    import cxpulse.processors.engine as package
    from cxpulse.processors.engine import state as state_module

    source = (Path(package.__path__[0]) / "state.py").read_text(encoding="utf-8")
    cls = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "CustomerState")
    slots = next(n.value for n in cls.body if isinstance(n, ast.Assign) and n.targets[0].id == "__slots__")
    assert state_module._FIELDS + state_module._UNCOMPARED == ast.literal_eval(slots)
    state = CustomerState("C-1")
    assert all(hasattr(state, name) for name in state_module._FIELDS + state_module._UNCOMPARED)

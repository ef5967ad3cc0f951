"""incident: >= 25 distinct customers with inbound contacts on one service type within 15 min.

The incident is a property of the set of contacts: the earliest moment the window held
enough distinct customers, evidence the first of them by (occurred_at, event_id). Moments
are decided behind the watermark, so any arrival order within the tolerance agrees.
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.processors.engine import INF, Contact, EngineSettings, IncidentEngine, IncidentState, alert_id
from cxpulse.schemas import Alert

from .factories import HOUR, MIN, T0_EPOCH


def contacts(n: int, spacing: float = 10.0, start: float = 0.0, svc: str = "outage", prefix: str = "C") -> list[Contact]:
    return [Contact(svc, f"{prefix}-{i}", T0_EPOCH + start + i * spacing, f"{prefix}-ev{i}") for i in range(n)]


def feed(items, engine: IncidentEngine | None = None, state: IncidentState | None = None, flush: bool = True):
    """Add every contact, then decide every window (the end of the stream)."""
    engine = engine or IncidentEngine()
    alerts = []
    for contact in items:
        state, found = engine.add(state, contact)
        alerts += found
    if flush:
        alerts += engine.advance(state, INF)
    return state, alerts


@pytest.mark.parametrize("n, fires", [(24, False), (25, True), (60, True)])
def test_threshold(n, fires):
    _, alerts = feed(contacts(n))
    assert len({a.alert_id for a in alerts}) == (1 if fires else 0)


def test_alert_fields():
    _, (alert,) = feed(contacts(25))
    Alert.model_validate(alert.model_dump())
    assert alert.rule == "incident" and alert.severity == "critical" and alert.customer_id is None
    assert alert.segment is None and alert.score is None and alert.service_type == "outage"
    assert alert.triggered_at.timestamp() == T0_EPOCH + 240
    assert alert.evidence == [f"C-ev{i}" for i in range(25)]
    assert alert.summary == "25 customers contacted outage within 15 min"


def test_evidence_is_the_first_distinct_customers_of_the_window_by_time_and_event_id():
    items = contacts(24) + [Contact("outage", "C-0", T0_EPOCH + 100, "again"), Contact("outage", "Z", T0_EPOCH + 230, "z1"),
                            Contact("outage", "Y", T0_EPOCH + 230, "y1")]
    _, (alert,) = feed(items)
    assert alert.triggered_at.timestamp() == T0_EPOCH + 230
    # the window at 230 holds C-0..C-23, Y and Z: 26 customers; evidence the first 25 by (t, event_id)
    assert alert.summary.startswith("26 customers")
    assert alert.evidence == [f"C-ev{i}" for i in range(24)] + ["y1"]


def test_repeat_contacts_of_one_customer_count_once():
    items = contacts(24) + [Contact("outage", "C-0", T0_EPOCH + 300, "again")]
    assert feed(items)[1] == []


def test_service_types_are_separate_states():
    engine = IncidentEngine()
    a, alerts_a = feed(contacts(20, svc="outage"), engine)
    b, alerts_b = feed(contacts(20, svc="billing"), engine)
    assert alerts_a == alerts_b == [] and a is not b


@pytest.mark.parametrize("spacing, fires", [(15 * MIN / 24, True), (15 * MIN / 24 + 0.01, False)])
def test_window_is_inclusive(spacing, fires):
    assert len(feed(contacts(25, spacing=spacing))[1]) == (1 if fires else 0)


def test_once_per_service_type_per_cooldown_with_distinct_ids():
    first = contacts(40, spacing=10)
    during = contacts(30, spacing=10, start=30 * MIN, prefix="D")
    after = contacts(30, spacing=10, start=HOUR + 10 * MIN, prefix="E")
    _, alerts = feed(first + during + after)
    ids = list(dict.fromkeys(a.alert_id for a in alerts))
    assert len(ids) == 2
    # the first grows to 40 customers (updated with its id); the 30 of minute 30 are fewer: no update
    assert [a.summary.split()[0] for a in alerts if a.alert_id == ids[0]] == ["25", "30", "36", "40"]
    assert [a.summary.split()[0] for a in alerts if a.alert_id == ids[1]] == ["25", "30"]


def test_id_is_the_service_type_and_the_event_time_bucket():
    _, (alert,) = feed(contacts(25))
    bucket = int((T0_EPOCH + 240) // HOUR)
    assert alert.alert_id == alert_id("incident", None, "outage", f"bucket:{bucket}:3600")


def test_nothing_is_decided_before_the_watermark_passes_by_the_tolerance():
    engine = IncidentEngine()  # tolerance 60 s
    state, _ = feed(contacts(25), engine, flush=False)
    moment = T0_EPOCH + 240
    assert engine.advance(state, moment + 60) == []  # moments before watermark - 60 s only
    (alert,) = engine.advance(state, moment + 60.001)
    assert alert.triggered_at.timestamp() == moment
    assert engine.advance(state, INF) == []  # decided once


def test_a_contact_late_within_the_tolerance_still_counts():
    engine = IncidentEngine()
    items = contacts(25)
    state, _ = feed(items[1:], engine, flush=False)
    assert engine.advance(state, items[-1].occurred_at + 50) == []  # 24 customers so far
    state, _ = engine.add(state, items[0])  # 250 s late, but the watermark is only 50 s past the newest
    (alert,) = engine.advance(state, INF)
    assert alert.triggered_at.timestamp() == T0_EPOCH + 240 and len(alert.evidence) == 25


def test_a_contact_later_than_every_undecided_window_is_ignored():
    engine = IncidentEngine()
    items = contacts(25)
    state, _ = feed(items[1:], engine, flush=False)
    engine.advance(state, T0_EPOCH + 2 * HOUR)  # decided up to 2 h: the window of items[0] is closed
    state, _ = engine.add(state, items[0])
    assert engine.advance(state, INF) == [] and state.contacts == []


def test_arrival_order_does_not_change_anything_when_decided_at_the_end():
    items = contacts(30, spacing=5)
    _, reference = feed(items)
    for seed in range(20):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        _, alerts = feed(shuffled)
        assert [a.model_dump() for a in alerts] == [a.model_dump() for a in reference]


def test_state_is_bounded_and_round_trips():
    engine = IncidentEngine()
    state, _ = feed(contacts(500, spacing=1), engine, flush=False)
    engine.advance(state, T0_EPOCH + 500)
    assert state.firing is not None and len(state.contacts) <= 15 * 60 + 1  # while it fires: its window
    engine.advance(state, T0_EPOCH + 24 + HOUR + 61)
    assert state.contacts == [] and state.firing is None  # its cooldown is over: the rest is irrelevant
    quiet, _ = feed(contacts(24, spacing=100, prefix="Q"), engine, flush=False)
    engine.advance(quiet, T0_EPOCH + 24 * 100)
    assert len(quiet.contacts) <= 10  # only the last window's worth stays
    restored = IncidentState.from_bytes(quiet.to_bytes())
    assert restored == quiet
    more = contacts(30, spacing=10, start=2 * HOUR, prefix="F")
    first, second = feed(more, engine, quiet)[1], feed(more, engine, restored)[1]
    assert [a.model_dump() for a in first] == [a.model_dump() for a in second]
    assert len({a.alert_id for a in first}) == 1


def test_a_growing_incident_is_emitted_again_with_its_id_and_current_count():
    _, alerts = feed(contacts(60))  # one more customer every 10 s; it fired at the 25th (240 s)
    first = alerts[0]
    assert {a.alert_id for a in alerts} == {first.alert_id}
    assert all(a.triggered_at == first.triggered_at and a.evidence == first.evidence for a in alerts)
    # updated at 60 s ticks of event time after it fired (300, 360, ... 600), with the moments before each
    assert [a.summary.split()[0] for a in alerts] == ["25", "30", "36", "42", "48", "54", "60"]
    assert first.summary == "25 customers contacted outage within 15 min"
    assert alerts[-1].summary == "60 customers contacted outage within 15 min (raised with 25)"


def test_each_update_comes_once_the_watermark_passes_its_tick():
    engine = IncidentEngine()  # late tolerance 60 s
    state, _ = feed(contacts(60), engine, flush=False)
    assert [a.summary.split()[0] for a in engine.advance(state, T0_EPOCH + 540 + 60)] == ["25", "30", "36", "42",
                                                                                         "48", "54"]
    assert engine.advance(state, T0_EPOCH + 599 + 60) == []  # the tick at 600 s is not decided yet
    (last,) = engine.advance(state, T0_EPOCH + 600 + 60)
    assert last.summary.startswith("60 customers") and state.firing is not None
    assert engine.advance(state, T0_EPOCH + 240 + HOUR + 60) == [] and state.firing is None  # its cooldown is over


def test_an_incident_that_stops_growing_is_not_emitted_again():
    items = contacts(25) + contacts(20, start=20 * MIN, prefix="L")  # a smaller wave later in the cooldown
    _, alerts = feed(items)
    assert len(alerts) == 1


def test_updates_can_be_turned_off():
    _, alerts = feed(contacts(60), IncidentEngine(EngineSettings(incident_update_seconds=0)))
    assert len(alerts) == 1 and alerts[0].summary.startswith("25 customers")


def test_a_state_saved_while_firing_continues_identically():
    engine = IncidentEngine()
    items = contacts(60)
    state, _ = feed(items[:40], engine, flush=False)
    engine.advance(state, items[39].occurred_at)
    assert state.firing is not None
    restored = IncidentState.from_bytes(state.to_bytes())
    assert restored == state
    rest = [a.model_dump() for a in feed(items[40:], engine, state)[1]]
    assert rest == [a.model_dump() for a in feed(items[40:], engine, restored)[1]] and rest


def test_a_state_written_before_updates_existed_still_reads():
    old = b'[1,"outage",[[1740992400.0,"e1","C-1"]],-1e+18,-1e+18]'
    state = IncidentState.from_bytes(old)
    assert state.firing is None and state.contacts == [(1740992400.0, "e1", "C-1")]
    assert state.to_bytes() == old


def test_the_contact_cap_bounds_the_state():
    engine = IncidentEngine(EngineSettings(incident_customers=25, incident_max_contacts=100))
    state, _ = feed([Contact("outage", "one", T0_EPOCH + i, f"e{i}") for i in range(1000)], engine, flush=False)
    assert len(state.contacts) <= 100


# --- any interleaving of partitions gives the same incidents ------------------------

SMALL = EngineSettings(incident_customers=4, incident_window_seconds=600, incident_cooldown_seconds=1800,
                       incident_late_tolerance_seconds=0)

partition_streams = st.lists(  # per partition: (minute, customer, service) contacts in time order
    st.lists(st.tuples(st.integers(0, 90), st.integers(0, 9), st.sampled_from(["outage", "billing"])),
             min_size=4, max_size=40).map(sorted),
    min_size=1, max_size=4)


def _contacts(parts) -> list[list[Contact]]:
    return [[Contact(svc, f"C-{cid}", T0_EPOCH + minute * 60.0, f"p{p}-{i}") for i, (minute, cid, svc) in enumerate(part)]
            for p, part in enumerate(parts)]


def _run(parts: list[list[Contact]], order: list[int], advance_every: int) -> list[dict]:
    """Contacts in the given interleaving; the watermark is the smallest partition clock
    (a partition that has nothing left no longer holds it back)."""
    engine, states, alerts = IncidentEngine(SMALL), {}, []
    clocks = [float("-inf")] * len(parts)
    heads = [0] * len(parts)
    for n, p in enumerate(order):
        contact = parts[p][heads[p]]
        heads[p] += 1
        clocks[p] = contact.occurred_at
        states[contact.service_type], found = engine.add(states.get(contact.service_type), contact)
        alerts += found
        if n % advance_every == 0:
            mark = min(INF if heads[q] == len(parts[q]) else clocks[q] for q in range(len(parts)))
            for state in states.values():
                alerts += engine.advance(state, mark)
    for state in states.values():
        alerts += engine.advance(state, INF)
    return sorted((a.model_dump(mode="json") for a in alerts), key=lambda a: a["alert_id"])


@settings(max_examples=300, deadline=None)
@given(partition_streams, st.randoms(use_true_random=False), st.integers(1, 5))
def test_any_interleaving_of_partitions_gives_identical_incident_alerts(streams, rng, advance_every):
    parts = _contacts(streams)
    in_time_order = sorted(((c.occurred_at, c.event_id, p) for p, part in enumerate(parts) for c in part))
    reference = _run(parts, [p for _, _, p in in_time_order], 1)
    order = [p for p, part in enumerate(parts) for _ in part]
    rng.shuffle(order)

    assert _run(parts, order, advance_every) == reference

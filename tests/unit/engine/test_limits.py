"""The largest state record (processors/engine/limits.py) is an upper bound, and a tight one.

Tight: a state built at every maximum serialises to exactly the bound. Upper: random states
inside the caps (any text the schemas allow, any float) and the states the engine itself
makes from hostile streams (the longest, most escaped ids, more service types than are kept)
never exceed it.
"""

import json
import random
import re
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from pydantic import TypeAdapter

from cxpulse.processors.engine import CustomerState, Engine, EngineSettings, IncidentEngine, IncidentState, Ticket
from cxpulse.processors.engine.incident import Firing
from cxpulse.processors.engine.limits import (
    ANY_CHAR_BYTES,
    CHURN_OPEN_KEPT,
    PATTERN_CHAR_BYTES,
    RECORD_OVERHEAD,
    cooldowns_kept,
    state_bounds,
    worst_customer_state,
    worst_incident_state,
)
from cxpulse.processors.engine.results import Contact
from cxpulse.processors.engine.state import COOLDOWN_RULES
from cxpulse.processors.engine.tickets import EVIDENCE_PER_TICKET
from cxpulse.schemas.types import ServiceType

from .factories import DAY, HOUR, MIN, EventFactory

SCHEMAS = Path(__file__).parents[3] / "schemas" / "json"

SMALL = EngineSettings(max_service_types=3, max_window_events=6, max_open_tickets=4, closed_tickets_kept=3,
                       recent_alerts=4, dedup_event_ids=8, contact_ids_kept=3, incident_max_contacts=60,
                       incident_customers=5, evidence_limit=4, repeat_warning_at=2, repeat_critical_at=3)
SHAPES = [EngineSettings(), SMALL, EngineSettings(max_service_types=1, max_window_events=5, max_open_tickets=1,
                                                  closed_tickets_kept=0, recent_alerts=0, dedup_event_ids=1,
                                                  contact_ids_kept=1, incident_max_contacts=4,
                                                  incident_customers=2, evidence_limit=1)]


@pytest.mark.parametrize("settings", SHAPES, ids=["defaults", "small", "smallest"])
def test_the_worst_states_serialise_to_exactly_the_bound_and_read_back(settings):
    bounds = state_bounds(settings)
    customer, incident = worst_customer_state(settings), worst_incident_state(settings)
    assert len(customer.to_bytes()) == bounds.customer.total
    assert len(incident.to_bytes()) == bounds.incident.total
    assert CustomerState.from_bytes(customer.to_bytes()) == customer
    assert IncidentState.from_bytes(incident.to_bytes()) == incident
    assert bounds.record_bytes == max(bounds.customer.total, bounds.incident.total) + RECORD_OVERHEAD


def test_the_default_bounds_fit_the_default_changelog_limit():
    from cxpulse.processors.worker.settings import WorkerSettings

    bounds = state_bounds(EngineSettings())
    assert bounds.customer.total == 3_834_120 and bounds.incident.total == 4_344_537
    assert bounds.record_bytes <= WorkerSettings().changelog_max_message_bytes
    assert bounds.largest.largest_part() == "engine.incident_max_contacts"


def test_the_id_lengths_are_the_json_schemas():
    """The bound reads the pydantic models; the spec is the exported JSON Schemas: they agree."""
    from cxpulse.processors.engine.limits import _sizes

    def prop(name, field):
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))["properties"][field]
        return next(o for o in [schema, *schema.get("anyOf", ())] if o.get("type") == "string")

    sizes = _sizes()
    assert sizes.event.chars == prop("call-event", "event_id")["maxLength"] == 128
    assert sizes.customer.chars == prop("call-event", "customer_id")["maxLength"] == 64
    assert sizes.service.chars == prop("call-event", "service_type")["maxLength"] == 40
    assert sizes.ticket.chars == prop("ticket-event", "ticket_id")["maxLength"] == 128
    assert sizes.contact.chars == prop("contact-started-event", "contact_id")["maxLength"] == 128
    assert sizes.customer.per_char == 1 and sizes.service.per_char == 4
    assert sizes.event.per_char == sizes.ticket.per_char == sizes.contact.per_char == 6


def _code_points():
    return (chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF)


def test_bytes_per_character_are_the_largest_orjson_writes_for_each_pattern():
    """Every code point: 6 bytes at most for any text (a control character), and for each
    schema pattern the largest encoding of a character it allows."""
    widths: dict[int, list[str]] = {}
    for char in _code_points():
        widths.setdefault(len(orjson.dumps(char)) - 2, []).append(char)
    assert max(widths) == ANY_CHAR_BYTES
    for pattern, per_char in PATTERN_CHAR_BYTES.items():
        allowed = re.compile(pattern)
        largest = max(width for width, chars in widths.items() if any(allowed.fullmatch(c) for c in chars))
        assert largest == per_char, pattern


# -- random states inside the caps ---------------------------------------------------

_service_type = TypeAdapter(ServiceType)
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([-2.2250738585072014e-308, -1e18, 0.0])
event_ids = st.text(min_size=1, max_size=128)
ticket_ids = st.text(min_size=1, max_size=128)
customer_ids = st.text(alphabet="abcXYZ0189._:-", min_size=1, max_size=64)


@st.composite
def service_types(draw):
    raw = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40))
    try:
        return _service_type.validate_python(raw)
    except ValueError:
        return "billing"


@st.composite
def customer_states(draw, s: EngineSettings):
    def some(strategy, most):
        return draw(st.lists(strategy, max_size=most))

    svcs = some(service_types(), s.max_service_types)
    state = CustomerState(draw(customer_ids))
    state.penalty, state.ref, state.swept = draw(floats), draw(floats), draw(floats)
    state.sensitive_since, state.sensitive_until = draw(floats), draw(floats)
    state.segment = draw(st.sampled_from(["standard", "key", "vip", "vulnerable"]))
    state.events_seen = draw(st.integers(0, 2**64 - 1))
    state.seen_ids = some(event_ids, s.dedup_event_ids)
    window = st.integers(1, s.max_window_events)
    state.contacts = {svc: [(draw(floats), draw(event_ids), draw(st.sampled_from([0, 1, 2, 4, 5])))
                            for _ in range(draw(window))] for svc in svcs}
    state.grievances = {svc: [(draw(floats), draw(event_ids)) for _ in range(draw(window))] for svc in svcs}
    svc = st.sampled_from(svcs or ["billing"])
    maybe = st.none() | floats
    state.tickets = {tid: Ticket(draw(svc), draw(maybe), draw(st.booleans()), draw(st.booleans()), draw(floats),
                                 some(event_ids, EVIDENCE_PER_TICKET), draw(maybe), draw(st.integers(0, 2)))
                     for tid in some(ticket_ids, s.max_open_tickets)}
    state.closed = {tid: (draw(floats), draw(st.booleans())) for tid in some(ticket_ids, s.closed_tickets_kept)}
    keys = [(rule, name) for name in svcs for rule in COOLDOWN_RULES] + [("churn_risk", "*")]
    state.cooldowns = {key: (draw(floats), draw(st.integers(1, 2))) for key in draw(st.permutations(keys))
                       [:draw(st.integers(0, cooldowns_kept(s)))]}
    aid = "cxa-" + "0123456789ab" * 2
    trigger = event_ids | ticket_ids.map(lambda tid: f"sla:{tid}@253402300799.000")
    state.churn_open = tuple((aid, draw(st.integers(1, 2)), draw(floats), draw(svc), draw(trigger))
                             for _ in range(draw(st.integers(0, CHURN_OPEN_KEPT))))
    state.recent = tuple((aid, draw(st.sampled_from(["detractor", "sensitive_customer", "churn_risk"])),
                          draw(st.sampled_from(["info", "warning", "critical"])),
                          draw(st.sampled_from(["firing", "resolved"])), draw(svc), draw(floats))
                         for _ in range(draw(st.integers(0, s.recent_alerts))))
    state.contact_ids = [(draw(st.text(min_size=1, max_size=128)), draw(svc), draw(floats), draw(event_ids),
                          draw(st.integers(0, 1))) for _ in range(draw(st.integers(0, s.contact_ids_kept)))]
    state.outcome = draw(st.none() | st.tuples(st.sampled_from(["cancelled", "not_renewed", "reactivated"]), floats))
    state.refresh_due()
    return state


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(customer_states(SMALL))
def test_no_random_state_inside_the_caps_exceeds_the_customer_bound(state):
    data = state.to_bytes()
    assert len(data) <= state_bounds(SMALL).customer.total
    assert CustomerState.from_bytes(data) == state


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_random_incident_state_inside_the_caps_exceeds_the_incident_bound(data):
    s = SMALL
    state = IncidentState(data.draw(service_types()))
    state.contacts = data.draw(st.lists(st.tuples(floats, event_ids, customer_ids), max_size=s.incident_max_contacts))
    state.done, state.last_fire = data.draw(floats), data.draw(floats)
    count = st.integers(0, s.incident_max_contacts + 1)
    state.firing = data.draw(st.none() | st.builds(
        Firing, count, count, count, floats, st.lists(event_ids, max_size=min(s.incident_customers, s.evidence_limit))))
    assert len(state.to_bytes()) <= state_bounds(s).incident.total


# -- states the engine makes from hostile streams --------------------------------------

def _hostile_id(rng: random.Random, n: int, length: int = 128) -> str:
    """Distinct, maximal, mostly control characters (6 bytes each in JSON)."""
    head = f"{n:x}"
    return head + "".join(rng.choice("\x01\x02\x1f\"\\\U0001f600") for _ in range(length - len(head)))


def _hostile_stream(seed: int, n: int = 1_500) -> list:
    rng = random.Random(seed)
    customer = "C" * 63 + str(seed)
    f = EventFactory(customer_id=customer, segment="vip")
    services = ["\U0001f600" * 39 + chr(0x10000 + i) for i in range(8)]  # 8 > max_service_types
    events, t = [], 0.0
    for i in range(n):
        t += rng.choice([1.0, MIN, 10 * MIN, HOUR])
        late = t - rng.choice([0.0, 0.0, 0.0, HOUR, DAY])
        svc = rng.choice(services)
        eid = _hostile_id(rng, i)
        kind = rng.random()
        if kind < 0.3:
            events.append(f.call(late, event_id=eid, service_type=svc, outcome=rng.choice(["resolved", "abandoned"]),
                                 complaint=rng.random() < 0.3, contact_id=rng.choice([None, _hostile_id(rng, i % 7)])))
        elif kind < 0.6:
            action = rng.choice(["opened", "opened", "updated", "escalated", "resolved", "closed", "reopened"])
            events.append(f.ticket(late, _hostile_id(rng, rng.randrange(12)), action, event_id=eid, service_type=svc,
                                   due=late + rng.choice([MIN, HOUR]) if action != "resolved" else None,
                                   priority="urgent", complaint=rng.random() < 0.3))
        elif kind < 0.8:
            events.append(f.feedback(late, "nps", rng.randrange(11), event_id=eid, service_type=svc,
                                     complaint=rng.random() < 0.3))
        elif kind < 0.95:
            events.append(f.start(late, _hostile_id(rng, i % 9), event_id=eid, service_type=svc))
        else:
            events.append(f.account(late, rng.choice(["cancelled", "not_renewed", "reactivated"]), event_id=eid))
    return events


def _within_caps(state: CustomerState, s: EngineSettings) -> None:
    assert len(state.seen_ids) <= s.dedup_event_ids
    assert len(state.contacts) <= s.max_service_types and len(state.grievances) <= s.max_service_types
    assert all(len(lst) <= s.max_window_events for lst in [*state.contacts.values(), *state.grievances.values()])
    assert len(state.tickets) <= s.max_open_tickets
    assert all(len(tk.evidence) <= EVIDENCE_PER_TICKET for tk in state.tickets.values())
    assert len(state.closed) <= s.closed_tickets_kept
    assert len(state.cooldowns) <= cooldowns_kept(s)
    assert len(state.churn_open) <= CHURN_OPEN_KEPT
    assert len(state.recent) <= s.recent_alerts
    assert len(state.contact_ids) <= s.contact_ids_kept


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_states_the_engine_makes_from_hostile_streams_stay_within_the_caps_and_the_bound(seed):
    engine, bound = Engine(SMALL), state_bounds(SMALL).customer.total
    state, largest = None, 0
    for event in _hostile_stream(seed):
        state = engine.step(state, event).state
        if event.occurred_at.minute == 0:  # the stream clock now and then: clock-found breaches
            state = engine.check_sla(state, event.occurred_at.timestamp() + HOUR).state
        _within_caps(state, SMALL)
        largest = max(largest, len(state.to_bytes()))
    assert largest <= bound
    assert largest > bound // 3  # hostile enough to matter: a good part of the bound is reached


def test_incident_states_of_a_hostile_stream_stay_within_the_bound():
    rng = random.Random(7)
    engine, bound = IncidentEngine(SMALL), state_bounds(SMALL).incident.total
    svc = "\U0001f600" * 40
    state, largest = None, 0
    for i in range(600):
        t = 1.7e9 + i * rng.choice([0.5, 1.0, 30.0]) - rng.choice([0.0, 0.0, 120.0])
        contact = Contact(svc, f"{i % 40:02d}" + "X" * 62, t, _hostile_id(rng, i))
        state, _ = engine.add(state, contact)
        if i % 25 == 0:
            engine.advance(state, t)
        assert len(state.contacts) <= SMALL.incident_max_contacts
        largest = max(largest, len(state.to_bytes()))
    assert state.firing is not None or state.last_fire > 0  # incidents fired
    assert bound // 2 < largest <= bound

"""Contact starts (``contact_started``) and the ended-contact records linked to them by ``contact_id``.

A contact counts toward the repeat window exactly once, whatever the order of its start and
end records, duplicates and late starts; a start carries no points of its own; the
``sensitive_contact`` and ``repeat_contact`` alerts fire at the start, not again at the end.
"""

import itertools
import random

import pytest
from cxpulse.processors.engine import CustomerState, Engine, EngineDriver
from cxpulse.processors.engine.score import score_of

from .factories import DAY, HOUR, MIN, EventFactory, run


def _contacts(state: CustomerState, svc: str = "billing") -> list:
    return state.contacts.get(svc, [])


def test_a_start_alone_counts_as_a_contact_but_carries_no_points():
    f = EventFactory()
    engine = Engine()
    first = engine.step(None, f.call(0, outcome="unresolved"))
    decayed = first.state.penalty * 2 ** (-HOUR / engine.settings.half_life_seconds)

    result = engine.step(first.state, f.start(HOUR, "K-1"))

    assert result.signals == ()
    # Like every event it moves the customer's time (the penalty decays to it); it adds nothing.
    assert result.state.penalty == pytest.approx(decayed, rel=1e-12)
    assert result.score == score_of(result.state)
    assert len(_contacts(result.state)) == 2
    assert result.contact is not None and result.contact.event_id == result.state.seen_ids[-1]


def test_start_then_end_is_one_contact_and_the_end_carries_the_points():
    f = EventFactory()
    with_start = run([f.call(0, outcome="unresolved"), f.start(HOUR, "K-1"),
                      f.call(HOUR + 5 * MIN, outcome="unresolved", contact_id="K-1")])
    plain = run([EventFactory().call(0, outcome="unresolved"),
                 EventFactory(prefix="p").call(HOUR, outcome="unresolved")])

    assert len(_contacts(with_start.state)) == 2
    assert with_start.last.signals == ("inbound_contact", "repeat_contact", "call_unresolved")
    assert with_start.last.contact is None  # the incident detector had it at the start
    # The contact's own points sit at its start's time; the call outcome's at the call's.
    assert with_start.state.penalty == pytest.approx(plain.state.penalty, abs=0.01)


@pytest.mark.parametrize("order", list(itertools.permutations(["start", "end", "again"])))
def test_any_order_of_start_end_and_a_repeated_start_counts_once(order):
    f = EventFactory()
    records = {"start": f.start(HOUR, "K-1"), "end": f.call(HOUR + MIN, outcome="resolved", contact_id="K-1"),
               "again": f.start(HOUR + 2 * MIN, "K-1", queue="transfer")}
    result = run([f.call(0, outcome="unresolved")] + [records[name] for name in order])

    assert len(_contacts(result.state)) == 2
    signals = [s for r in result.results for s in r.signals]
    assert signals.count("inbound_contact") == 2
    assert signals.count("repeat_contact") == 1
    assert "first_contact_resolution" not in signals  # the second contact is a repeat, whatever the order


def test_a_duplicate_record_changes_nothing():
    f = EventFactory()
    start = f.start(0, "K-1")
    result = run([start, start, f.call(MIN, contact_id="K-1"), f.call(MIN, contact_id="K-1", event_id="e2")])

    assert [r.duplicate for r in result.results] == [False, True, False, True]
    assert len(_contacts(result.state)) == 1


def test_a_second_end_record_of_one_contact_adds_its_own_signals_only():
    f = EventFactory()
    result = run([f.start(0, "K-1"), f.call(MIN, outcome="transferred", contact_id="K-1"),
                  f.call(2 * MIN, outcome="unresolved", contact_id="K-1")])

    assert result.results[1].signals == ("inbound_contact", "call_transferred")
    assert result.results[2].signals == ("call_unresolved",)
    assert len(_contacts(result.state)) == 1


def test_a_start_that_never_ends_still_counts_in_the_window():
    f = EventFactory()
    result = run([f.start(0, "K-1"), f.start(HOUR, "K-2"), f.call(2 * HOUR, outcome="resolved")])

    assert result.fired("repeat_contact") == [("repeat_contact", "warning", "firing")]
    assert result.last.signals[:2] == ("inbound_contact", "repeat_contact")


def test_repeat_contact_fires_at_the_start_with_its_evidence_and_not_again_at_the_end():
    f = EventFactory()
    result = run([f.call(0), f.call(HOUR), f.start(2 * HOUR, "K-3", event_id="s-3"),
                  f.call(2 * HOUR + 10 * MIN, contact_id="K-3")])

    (alert,) = result.results[2].alerts
    assert (alert.rule, alert.evidence) == ("repeat_contact", ["e1", "e2", "s-3"])
    assert result.results[3].alerts == []


def test_sensitive_contact_fires_at_the_start_not_at_the_end():
    f = EventFactory()
    grievances = [f.feedback(0, "csat", 1), f.feedback(HOUR, "csat", 1)]
    result = run(grievances + [f.start(DAY, "K-1", service_type="repair", event_id="s-1"),
                               f.call(DAY + 5 * MIN, contact_id="K-1", service_type="repair")])

    start_alerts = [(a.rule, a.evidence[-1]) for a in result.results[2].alerts]
    assert start_alerts == [("sensitive_contact", "s-1")]
    # The end's points may move the band (churn_risk), but the contact warns no more.
    assert [a.rule for a in result.results[3].alerts] == ["churn_risk"]
    assert result.fired("sensitive_contact") == [("sensitive_contact", "warning", "firing")]


def test_a_late_start_of_an_ended_contact_counts_nothing_and_fires_nothing():
    f = EventFactory()
    end = f.call(HOUR + MIN, contact_id="K-1")
    result = run([f.call(0), end, f.start(HOUR, "K-1"), f.call(2 * HOUR)])

    assert len(_contacts(result.state)) == 3
    assert result.results[2].signals == () and result.results[2].alerts == []
    assert result.results[2].contact is None
    assert result.fired("repeat_contact") == [("repeat_contact", "warning", "firing")]


def test_a_late_start_before_ended_contacts_makes_them_repeats_as_an_end_would():
    f = EventFactory()
    started = run([f.call(2 * HOUR, outcome="resolved"), f.start(HOUR, "K-1"),
                   f.call(HOUR + MIN, contact_id="K-1", outcome="unresolved")])
    plain = run([EventFactory().call(2 * HOUR, outcome="resolved"),
                 EventFactory(prefix="p").call(HOUR, outcome="unresolved")])

    assert started.results[1].signals == ("repeat_contact", "first_contact_resolution_withdrawn")
    assert started.state.penalty == pytest.approx(plain.state.penalty, abs=0.01)


def test_an_end_whose_start_was_forgotten_counts_as_a_new_contact():
    f = EventFactory()
    result = run([f.start(0, "K-1")] + [f.start(i * MIN, f"K-{i}") for i in range(2, 5)]
                 + [f.call(10 * MIN, contact_id="K-1")], contact_ids_kept=3)

    assert len(_contacts(result.state)) == 5
    assert len(result.state.contact_ids) == 3


def test_a_version_one_stream_keeps_the_state_bytes_it_always_had():
    f = EventFactory()
    state = run([f.call(0), f.ticket(1, "T-1", due=DAY)]).state

    assert state.contact_ids == []
    assert len(__import__("orjson").loads(state.to_bytes())) == 18


def test_contact_ids_survive_serialisation():
    f = EventFactory()
    state = run([f.start(0, "K-1"), f.call(MIN, contact_id="K-1"), f.start(HOUR, "K-2")]).state

    again = CustomerState.from_bytes(state.to_bytes())
    assert again == state and again.contact_ids == [("K-1", "billing", state.contact_ids[0][2], "e1", 1),
                                                    ("K-2", "billing", state.contact_ids[1][2], "e3", 0)]


def test_incidents_see_a_started_contact_once():
    driver = EngineDriver(Engine().settings.model_copy(update={"incident_customers": 2, "incident_max_contacts": 4}))
    for i in range(2):
        f = EventFactory(customer_id=f"C-{i}", service_type="outage", prefix=f"c{i}-")
        driver.feed(f.start(i * MIN, f"K-{i}"))
        driver.feed(f.call(i * MIN + 30, contact_id=f"K-{i}"))
    driver.finish()

    (incident,) = [a for a in driver.alerts if a.rule == "incident"]
    assert incident.evidence == ["c0-1", "c1-1"]


@pytest.mark.parametrize("seed", range(8))
def test_the_contact_counts_once_in_any_arrival_order(seed):
    # Each contact: a start and an end (some without one, some never ending), shuffled.
    rng = random.Random(seed)
    f = EventFactory()
    contacts = []
    for n in range(6):
        t = n * 5 * HOUR + rng.uniform(0, HOUR)
        records = []
        if rng.random() < 0.8:
            records.append(f.start(t, f"K-{n}"))
        if rng.random() < 0.8 or not records:
            records.append(f.call(t + rng.uniform(0, 10 * MIN), outcome=rng.choice(["resolved", "unresolved"]),
                                  contact_id=f"K-{n}"))
        contacts.append(records)
    records = [r for rs in contacts for r in rs]
    reference = run(records).state
    for _ in range(5):
        rng.shuffle(records)
        state = run(records).state
        assert len(_contacts(state)) == 6
        assert sorted(e[0] for e in _contacts(state)) == pytest.approx(sorted(e[0] for e in _contacts(reference)))
        repeats = sum(1 for e in _contacts(state) if e[2] & 1)
        assert repeats == sum(1 for e in _contacts(reference) if e[2] & 1)

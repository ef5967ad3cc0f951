from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from cxpulse.producers.errors import ProducerError
from cxpulse.producers.simulator import Simulation, SimulationConfig
from cxpulse.schemas import parse_event

from . import oracle
from .conftest import ANCHOR

RULES_CHECKED = {"repeat_contact", "sensitive_customer", "sensitive_contact", "detractor", "sla_breach"}


def lines(sim: Simulation) -> list[bytes]:
    return [orjson.dumps(event) for event in sim.events()]


def test_same_seed_and_anchor_give_identical_bytes(simulation_factory):
    first, second = lines(simulation_factory()), lines(simulation_factory())
    assert len(first) > 1000
    assert first == second


def test_ground_truth_is_identical_too(simulation_factory):
    a, b = simulation_factory(), simulation_factory()
    lines(a), lines(b)
    assert orjson.dumps(a.ground_truth()) == orjson.dumps(b.ground_truth())


@pytest.mark.parametrize("change", [{"seed": 12}, {"anchor": ANCHOR + timedelta(hours=1)}, {"customers": 601}])
def test_a_different_seed_anchor_or_population_gives_different_events(simulation_factory, change):
    base, other = lines(simulation_factory()), lines(simulation_factory(**change))
    assert base != other
    ids = {orjson.loads(line)["event_id"] for line in base}
    assert ids.isdisjoint(orjson.loads(line)["event_id"] for line in other)  # runs never collide


def test_every_event_is_valid_ordered_within_the_period_and_uniquely_identified(simulation_factory):
    sim = simulation_factory()
    events = list(sim.events())
    now = ANCHOR.timestamp()
    parsed = [parse_event(orjson.dumps(e), now=now, max_future_seconds=0) for e in events]
    times = [p.occurred_at for p in parsed]
    assert times == sorted(times)
    assert ANCHOR - timedelta(days=3) <= times[0] and times[-1] <= ANCHOR
    assert len({e["event_id"] for e in events}) == len(events)
    assert sum(sim.counts.values()) == sim.emitted == len(events)


def test_the_population_looks_real(simulation_factory):
    sim = simulation_factory(customers=2000)
    events = list(sim.events())
    types = Counter(e["event_type"] for e in events)
    assert all(types[kind] > 0.15 * len(events) for kind in ("call", "ticket", "feedback"))
    assert set(Counter(e["service_type"] for e in events)) == {
        "billing", "outage", "repair", "installation", "account", "metering", "payment", "relocation"
    }  # fmt: skip
    segments = Counter(e["segment"] for e in events)
    assert segments["standard"] > 0.6 * len(events) and all(segments[s] for s in ("key", "vip", "vulnerable"))
    calls = Counter(e["channel"] for e in events if e["event_type"] == "call" and e["direction"] == "inbound")
    assert calls.most_common(1)[0][0] == "phone"
    tickets = Counter(e["channel"] for e in events if e["event_type"] == "ticket" and e["action"] == "opened")
    assert tickets["web"] + tickets["app"] > tickets["phone"]
    # the daily rhythm: office hours (UTC here) are far busier than the night
    hours = Counter(datetime.fromisoformat(e["occurred_at"]).hour for e in events if oracle.is_inbound(e))
    assert sum(hours[h] for h in range(9, 17)) > 5 * sum(hours[h] for h in range(0, 6))


def test_the_rhythm_follows_the_anchor_offset(simulation_factory):
    sim = simulation_factory(anchor=datetime(2025, 3, 14, 18, 0, tzinfo=timezone(timedelta(hours=8))))
    events = list(sim.events())
    assert all(e["occurred_at"].endswith("+08:00") for e in events)
    hours = Counter(datetime.fromisoformat(e["occurred_at"]).hour for e in events if oracle.is_inbound(e))
    assert sum(hours[h] for h in range(9, 17)) > 5 * sum(hours[h] for h in range(0, 6))


@pytest.mark.parametrize(
    "overrides",
    [
        {"seed": 1},
        {"seed": 2, "customers": 1500},
        {"seed": 3, "days": 1},
        {"seed": 7, "days": 0.25},
        {"seed": 8, "days": 0.5, "customers": 1000},
        {"seed": 9, "days": 7, "customers": 300},
        {"seed": 4, "anchor": datetime(2025, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))},
        {"seed": 5, "engine": {"repeat_warning_at": 4, "repeat_critical_at": 6, "incident_customers": 40}},
        {"seed": 6, "engine": {"repeat_window_seconds": 24 * 3600, "sensitive_at": 3}},
    ],
)
def test_ground_truth_matches_the_events(simulation_factory, overrides):
    sim = simulation_factory(**overrides)
    engine = sim.config.engine
    events = list(sim.events())
    truth = sim.ground_truth()
    fired = oracle.customer_rules(events, engine)
    struggling = {entry["customer_id"]: entry for entry in truth["struggling"]}
    assert struggling, "a population of this size has struggling customers"
    for who, entry in struggling.items():
        (pattern,) = entry["patterns"]
        assert pattern["complete"]
        assert fired[who] & RULES_CHECKED == set(pattern["expected_rules"]), (pattern["pattern"], who)
    content = {e["customer_id"] for e in events} - set(struggling)
    assert content
    assert {who: rules for who, rules in fired.items() if who in content} == {}


def test_pattern_event_ids_are_the_customers_own_events(simulation_factory):
    sim = simulation_factory()
    by_id = {e["event_id"]: e for e in sim.events()}
    for entry in sim.ground_truth()["struggling"]:
        (pattern,) = entry["patterns"]
        owned = [by_id[event_id] for event_id in pattern["event_ids"]]
        assert owned and all(e["customer_id"] == entry["customer_id"] for e in owned)
        assert all(e["service_type"] == pattern["service_type"] for e in owned)


def test_repeat_callers_really_repeat_and_content_customers_never_do(simulation_factory):
    sim = simulation_factory(customers=1200)
    events = list(sim.events())
    window = sim.config.engine.repeat_window_seconds
    contacts = defaultdict(list)
    for e in events:
        if oracle.is_inbound(e):
            contacts[(e["customer_id"], e["service_type"])].append(oracle.at(e["occurred_at"]))
    truth = sim.ground_truth()
    repeaters = {
        (entry["customer_id"], p["service_type"]): p
        for entry in truth["struggling"]
        for p in entry["patterns"]
        if p["pattern"] == "repeat_caller"
    }
    assert repeaters
    for key, pattern in repeaters.items():
        assert oracle.max_in_window(contacts[key], window) >= 3
        assert pattern["detail"]["inbound_contacts"] >= 3
    struggling = {entry["customer_id"] for entry in truth["struggling"]}
    for (who, _), times in contacts.items():
        if who not in struggling:
            assert oracle.max_in_window(times, window) <= 2


def test_content_customers_stay_healthy_complaint_free_and_satisfied(simulation_factory):
    sim = simulation_factory(customers=1500)
    events = list(sim.events())
    engine = sim.config.engine
    struggling = {entry["customer_id"] for entry in sim.ground_truth()["struggling"]}
    content = [e for e in events if e["customer_id"] not in struggling]
    assert not [e for e in content if e.get("is_complaint") or oracle.is_dissatisfied(e)]
    bound = oracle.penalty_bound(content, engine)
    assert max(bound.values()) <= 100 - engine.healthy_at_or_above - 1  # never leaves "healthy"


def test_the_outage_burst_fires_one_incident_and_nothing_else_does(simulation_factory):
    sim = simulation_factory(customers=1000)
    events = list(sim.events())
    engine = sim.config.engine
    outage = sim.ground_truth()["outage"]
    assert outage["complete"] and outage["service_type"] == "outage"
    burst = [e for e in events if e["event_id"] in set(outage["event_ids"])]
    assert len({e["customer_id"] for e in burst}) == len(outage["customers"]) >= engine.incident_customers
    span = oracle.at(outage["end"]) - oracle.at(outage["start"])
    assert span < engine.incident_window_seconds
    # every record of the burst is an inbound contact's: its first record, or the call that ends a started one
    assert all((oracle.is_inbound(e) or e.get("contact_id")) and e["service_type"] == "outage" for e in burst)
    assert len([e for e in burst if oracle.is_inbound(e)]) == len(outage["customers"])
    found = oracle.incidents(events, engine)
    assert set(found) == {"outage"}
    moments = found["outage"]
    assert oracle.at(outage["start"]) <= min(moments) and max(moments) <= oracle.at(outage["end"]) + engine.incident_window_seconds


def test_no_outage_when_asked_or_when_too_few_customers(simulation_factory):
    assert simulation_factory(outage_customers=0).outage is None
    small = simulation_factory(customers=20)
    assert small.outage is None and "no outage burst" in small.warnings[0]


def test_a_big_population_warns_that_ordinary_traffic_may_look_like_an_incident(simulation_factory):
    assert simulation_factory().warnings == []
    assert "incident" in simulation_factory(customers=20_000, days=0.25, struggling=0).warnings[0]


def test_stopping_early_marks_unfinished_patterns_incomplete(simulation_factory):
    sim = simulation_factory()
    events = sim.events()
    taken = [next(events) for _ in range(300)]
    truth = sim.ground_truth()
    assert truth["emitted"]["events"] == 300 == len(taken)
    patterns = [p for entry in truth["struggling"] for p in entry["patterns"]]
    assert not any(p["complete"] for p in patterns if oracle.at(p["end"]) > oracle.at(truth["emitted"]["last"]))
    assert truth["outage"]["complete"] is False
    emitted = {e["event_id"] for e in taken}
    assert all(set(p["event_ids"]) <= emitted for p in patterns)


def test_memory_follows_customers_not_the_length_of_the_run(simulation_factory):
    """The merge heap holds each customer's next episode and its events in flight, nothing more."""

    def peak(days: float) -> tuple[int, int]:
        sim = simulation_factory(customers=2000, days=days, struggling=0.0, outage_customers=0)
        highest = sim.pending
        for n, _ in enumerate(sim.events()):
            if n % 100 == 0:
                highest = max(highest, sim.pending)
        return highest, sim.emitted

    # Past the first days (the longest ticket stays open ~4 days), the heap stops growing.
    short, long_ = peak(6), peak(24)
    assert long_[1] > 3.5 * short[1]  # four times the period, about four times the events ...
    assert long_[0] < 1.2 * short[0]  # ... in the same memory
    assert short[0] < 2 * 2000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"anchor": datetime(2025, 1, 1)}, "UTC offset"),
        ({"customers": 0}, "--customers"),
        ({"days": 0.1}, "--days"),
        ({"seed": -1}, "--seed"),
        ({"struggling": 1.5}, "--struggling"),
        ({"contact_rate": -1}, "--contact-rate"),
    ],
)
def test_bad_configuration_is_refused_with_the_option_named(fields, message):
    with pytest.raises(ProducerError, match=message):
        SimulationConfig(**{"anchor": ANCHOR, **fields})


def test_too_many_outage_customers_is_refused():
    with pytest.raises(ProducerError, match="outage-customers"):
        Simulation(SimulationConfig(anchor=ANCHOR, customers=50, outage_customers=49))


def test_a_different_engine_threshold_moves_the_generator_with_it(simulation_factory):
    sim = simulation_factory(engine={"incident_customers": 60})
    assert len(sim.outage.customers) >= 60
    assert sim.ground_truth()["thresholds"]["incident_customers"] == 60


def test_now_is_never_exceeded_when_anchored_now():
    now = datetime.now(UTC)
    sim = Simulation(SimulationConfig(anchor=now, customers=200))
    last = max(oracle.at(e["occurred_at"]) for e in sim.events())
    assert last <= now.timestamp()


def test_most_inbound_calls_are_announced_by_a_contact_start_some_are_not_and_a_few_never_end(simulation_factory):
    sim = simulation_factory(customers=1500)
    events = list(sim.events())
    starts = {e["contact_id"]: e for e in events if e["event_type"] == "contact_started"}
    calls = [e for e in events if e["event_type"] == "call" and e["direction"] == "inbound"]
    linked = [e for e in calls if "contact_id" in e]
    assert 0.75 < len(linked) / len(calls) < 0.95  # most; the rest end with no start
    position = {e["event_id"]: i for i, e in enumerate(events)}
    for call in linked:
        start = starts[call["contact_id"]]
        assert position[start["event_id"]] < position[call["event_id"]]  # the start comes first
        assert (start["customer_id"], start["occurred_at"], start["service_type"], start["channel"]) == (
            call["customer_id"], call["occurred_at"], call["service_type"], call["channel"])
    ended = {call["contact_id"] for call in linked}
    never = [start for cid, start in starts.items() if cid not in ended]
    assert 0 < len(never) < 0.05 * len(starts)  # a few hung up in the queue: a start and no call record
    assert len(starts) == len(set(starts))


def test_contact_starts_keep_the_run_deterministic(simulation_factory):
    first = [e for e in simulation_factory(customers=300).events()]
    again = [e for e in simulation_factory(customers=300).events()]

    assert first == again and any(e["event_type"] == "contact_started" for e in first)
def test_the_churn_model_lives_the_abandoned_call_a_start_only_contact_stands_for(simulation_factory):
    from cxpulse.producers.settings import ChurnSettings

    sim = simulation_factory(customers=1500, churn=ChurnSettings())
    observed, observe = [], sim.churn.observe
    sim.churn.observe = lambda exp, who, event, at: observed.append(event) or observe(exp, who, event, at)
    events = list(sim.events())
    ended = {e["contact_id"] for e in events if e["event_type"] == "call" and "contact_id" in e}
    start_only = {(e["customer_id"], e["occurred_at"]) for e in events
                  if e["event_type"] == "contact_started" and e["contact_id"] not in ended}
    lived = {(e["customer_id"], e["occurred_at"]) for e in observed
             if e["event_type"] == "call" and e["outcome"] == "abandoned" and "event_id" not in e}
    assert start_only and lived == start_only  # the model saw each such call; the stream did not
    assert len(observed) == len(events) - sum(e["event_type"] == "account" for e in events)


# -- the hidden churn model (producers/churn.py) ---------------------------------------------


def _churn_run(simulation_factory, **overrides):
    from cxpulse.producers.settings import ChurnSettings

    sim = simulation_factory(customers=1500, churn=ChurnSettings(), churn_scale=10.0, **overrides)
    return sim, list(sim.events())


def test_without_churn_nothing_changes_and_with_it_the_same_seed_gives_the_same_departures(simulation_factory):
    plain = lines(simulation_factory())
    from cxpulse.producers.settings import ChurnSettings

    assert plain == lines(simulation_factory())
    first, second = simulation_factory(churn=ChurnSettings()), simulation_factory(churn=ChurnSettings())
    assert lines(first) == lines(second)
    assert first.run_id != simulation_factory().run_id  # ids of a churn run never collide with a plain one
    assert orjson.dumps(first.ground_truth()["churn"]) == orjson.dumps(second.ground_truth()["churn"])


def test_a_customer_who_left_sends_nothing_after_its_account_event_but_its_tickets_are_closed(simulation_factory):
    sim, events = _churn_run(simulation_factory)
    gone = {e["customer_id"]: e["occurred_at"] for e in events if e["event_type"] == "account"}
    truth = sim.ground_truth()["churn"]
    assert len(gone) == truth["left"] > 20
    after = [e for e in events if gone.get(e["customer_id"]) is not None and e["occurred_at"] > gone[e["customer_id"]]]
    # only the company's work goes on: the tickets the customer had open are resolved or closed
    assert {(e["event_type"], e["action"]) for e in after} <= {("ticket", "resolved"), ("ticket", "closed")}
    opened = {(e["customer_id"], e["ticket_id"]) for e in events if e["event_type"] == "ticket" and e["action"] == "opened"}
    assert {(e["customer_id"], e["ticket_id"]) for e in after} <= opened
    assert after, "no customer of this run left with a ticket open: the case is not exercised"
    for row in truth["customers"]:
        assert row["churned_at"] is None or row["decided_at"] <= row["churned_at"]
        assert row["cause"] in ("experience", "hidden")
    assert {e["action"] for e in events if e["event_type"] == "account"} <= {"cancelled", "not_renewed", "downgraded"}
    assert all(parse_event(orjson.dumps(e)).event_type == "account" for e in events if e["event_type"] == "account")


def test_bad_experiences_make_leaving_likelier_but_some_leave_for_no_visible_reason(simulation_factory):
    sim, _ = _churn_run(simulation_factory)
    struggling = {s.customer_id for s in sim.struggles}
    left = {c.customer_id for c in sim.churn.churns if c.emitted}
    causes = Counter(c.cause for c in sim.churn.churns if c.emitted)
    content = sim.config.customers - len(struggling)
    assert len(left & struggling) / len(struggling) > 3 * len(left - struggling) / content
    assert causes["hidden"] > 0 and causes["experience"] > 0


def test_the_account_events_can_stay_out_of_the_stream_and_go_to_the_outcomes_file_only(simulation_factory):
    sim, events = _churn_run(simulation_factory, churn_events=False)
    assert not any(e["event_type"] == "account" for e in events)
    outcomes = sim.outcomes()
    assert len(outcomes) == sim.ground_truth()["churn"]["left"] > 20
    last = {}
    for event in events:
        if not (event["event_type"] == "ticket" and event["action"] in ("resolved", "closed")):
            last[event["customer_id"]] = event["occurred_at"]
    for outcome in outcomes:  # nothing of a customer after it left (but the company closing its tickets)
        seen = last.get(outcome.customer_id)
        assert seen is None or datetime.fromisoformat(seen) <= outcome.churned_at


def test_the_churn_model_is_independent_of_the_engine():
    import ast
    from pathlib import Path

    import cxpulse.producers.churn as churn

    tree = ast.parse(Path(churn.__file__).read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any("processors" in name or "engine" in name or name.endswith("limits") for name in imported), imported

"""The incident rule's customer counts, kept from one decision to the next (issue 11).

``IncidentState.counts`` are derived: the contacts of each customer with
``since <= occurred_at < done``. They must always equal a recount, and a state that counts
incrementally must decide exactly as one recounted at every decision (a state decoded from its
changelog bytes before each call: what a worker that lost and regained the partition holds).
"""

import random
from collections import Counter

import pytest

from cxpulse.processors.engine import INF, Contact, EngineSettings, IncidentEngine, IncidentState

from .factories import T0_EPOCH

# Small numbers, so that random streams fire, update, cool down, hit the contact cap and trim.
SETTINGS = EngineSettings(incident_customers=4, incident_window_seconds=600, incident_cooldown_seconds=1800,
                          incident_update_seconds=60, incident_late_tolerance_seconds=120,
                          incident_max_contacts=12)


def recount(state: IncidentState) -> dict[str, int]:
    return dict(Counter(cid for t, _, cid in state.contacts if state.since <= t < state.done))


def stream(seed: int, n: int = 400) -> list[tuple[str, object]]:
    """Operations: ("add", Contact) and ("advance", watermark); contacts are mostly in time
    order, some late (up to 5 min, beyond the tolerance too), some repeated, bursts and lulls."""
    rng = random.Random(seed)
    ops: list[tuple[str, object]] = []
    clock, watermark = T0_EPOCH, T0_EPOCH - 600.0
    for i in range(n):
        clock += rng.choice([1.0, 5.0, 20.0, 60.0, 300.0]) if rng.random() < 0.9 else rng.uniform(600, 3600)
        t = clock - rng.uniform(0, 300) if rng.random() < 0.15 else clock
        contact = Contact(rng.choice(["outage", "billing"]), f"C-{rng.randrange(8)}", float(int(t)), f"e{i}")
        ops.append(("add", contact))
        if rng.random() < 0.05:
            ops.append(("add", contact))  # the same contact again
        if rng.random() < 0.3:
            watermark = max(watermark, clock - rng.uniform(0, 400))
            ops.append(("advance", watermark))
    ops.append(("advance", INF))
    return ops


def run(ops, roundtrip: bool):
    """Alerts (as JSON) and each state's bytes after every operation."""
    engine = IncidentEngine(SETTINGS)
    states: dict[str, IncidentState] = {}
    seen = []
    for kind, arg in ops:
        if roundtrip:
            states = {svc: IncidentState.from_bytes(s.to_bytes()) for svc, s in states.items()}
        if kind == "add":
            assert isinstance(arg, Contact)
            states[arg.service_type], alerts = engine.add(states.get(arg.service_type), arg)
        else:
            assert isinstance(arg, float)
            alerts = [a for s in states.values() for a in engine.advance(s, arg)]
        for state in states.values():
            if state.counts_valid():
                assert state.counts == recount(state)
        seen.append(([a.model_dump(mode="json") for a in alerts],
                     {svc: s.to_bytes() for svc, s in sorted(states.items())}))
    return seen


@pytest.mark.parametrize("seed", range(40))
def test_incremental_counts_decide_as_a_recount_at_every_decision(seed):
    ops = stream(seed)
    incremental = run(ops, roundtrip=False)
    assert incremental == run(ops, roundtrip=True)


def test_the_random_streams_exercise_firing_updates_and_the_cap():
    summaries, capped = [], 0
    for seed in range(40):
        for alerts, _ in run(stream(seed), roundtrip=False):
            summaries += [a["summary"] for a in alerts]
    engine = IncidentEngine(SETTINGS)
    state = None
    for kind, arg in stream(0, 2000):
        if kind == "add":
            assert isinstance(arg, Contact)
            state, _ = engine.add(state if state is not None and state.service_type == arg.service_type else None, arg)
            capped = max(capped, len(state.contacts))
    assert any("raised with" not in s for s in summaries) and any("raised with" in s for s in summaries)
    assert capped == SETTINGS.incident_max_contacts


def test_counts_stay_a_recount_through_late_contacts_trims_and_the_cap():
    engine = IncidentEngine(SETTINGS)
    state, valid = None, 0
    for kind, arg in stream(7, 3000):
        if kind == "add":
            assert isinstance(arg, Contact)
            state, _ = engine.add(state, Contact("outage", arg.customer_id, arg.occurred_at, arg.event_id))
        elif state is not None:
            engine.advance(state, arg)
        if state is not None and state.counts_valid():
            valid += 1
            assert state.counts == recount(state)
    assert valid > 2000  # counted incrementally nearly throughout, not recounted


def test_a_decoded_or_reassigned_state_recounts():
    engine = IncidentEngine(SETTINGS)
    state = None
    for i in range(6):
        state, _ = engine.add(state, Contact("outage", f"C-{i}", T0_EPOCH + i * 10.0, f"e{i}"))
    assert state is not None
    engine.advance(state, T0_EPOCH + 30.0 + 120.0)
    assert state.counts_valid() and state.counts == recount(state) == {"C-0": 1, "C-1": 1, "C-2": 1}
    decoded = IncidentState.from_bytes(state.to_bytes())
    assert decoded == state and not decoded.counts_valid()  # derived: not written, not compared
    state.contacts = list(state.contacts)
    assert not state.counts_valid()
    for s in (state, decoded):
        engine.advance(s, INF)
        assert s.counts_valid() and s.counts == recount(s)
    assert decoded.to_bytes() == state.to_bytes()

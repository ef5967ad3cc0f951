"""Hypothesis strategies for engine event streams."""

from hypothesis import strategies as st

from .factories import EventFactory, MIN

CUSTOMERS = ("C-1", "C-2", "C-3")
SERVICES = ("billing", "repair")
OUTCOMES = ("resolved", "unresolved", "transferred", "escalated", "abandoned", "callback")
SURVEYS = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}

minutes = st.integers(min_value=0, max_value=5 * 24 * 60)  # five days, minute steps (ties happen)

call = st.tuples(st.just("call"), st.sampled_from(["inbound", "inbound", "outbound"]),
                 st.sampled_from(OUTCOMES), st.sampled_from([10.0, 400.0]), st.booleans(),
                 st.sampled_from([None, -0.9, 0.5]))
ticket = st.tuples(st.just("ticket"), st.integers(0, 2), st.sampled_from([None, "urgent"]),
                   st.booleans(), st.sampled_from([30, 240, 1440]))
feedback = st.tuples(st.just("feedback"), st.sampled_from(sorted(SURVEYS) + ["comment"]),
                     st.integers(0, 10), st.booleans())
# A contact start, and whether the next inbound call of that customer ends it (shares its contact_id).
start = st.tuples(st.just("start"), st.integers(0, 3), st.booleans())
spec = st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(SERVICES), minutes,
                 st.one_of(call, call, ticket, feedback, start))

LIFECYCLE = ("opened", "escalated", "updated", "resolved", "reopened", "closed")


def build(specs) -> list:
    """Events in time order. Each ticket's events follow LIFECYCLE in order; a ticket's
    complaint flag is on its opening event only (so its points have one time)."""
    factories = {cid: EventFactory(customer_id=cid, prefix=f"{cid}-") for cid in CUSTOMERS}
    stages: dict[tuple[str, int], int] = {}
    open_contacts: dict[str, str] = {}  # customer -> contact id its next inbound call ends
    events = []
    for cid, svc, minute, body in sorted(specs, key=lambda s: s[2]):
        f, t = factories[cid], minute * MIN
        kind = body[0]
        if kind == "call":
            _, direction, outcome, wait, complaint, sentiment = body
            link = open_contacts.pop(cid, None) if direction == "inbound" else None
            events.append(f.call(t, direction=direction, outcome=outcome, wait=wait,
                                 complaint=complaint, sentiment=sentiment, service_type=svc, contact_id=link))
        elif kind == "start":
            _, n, ends = body
            events.append(f.start(t, f"{cid}-K{n}", service_type=svc))
            if ends:
                open_contacts[cid] = f"{cid}-K{n}"
        elif kind == "ticket":
            _, n, priority, complaint, due_minutes = body
            stage = stages.get((cid, n), 0)
            stages[cid, n] = stage + 1
            action = LIFECYCLE[stage % len(LIFECYCLE)]
            due = t + due_minutes * MIN if action in ("opened", "updated", "reopened") else None
            events.append(f.ticket(t, f"{cid}-T{n}", action, due=due, priority=priority,
                                   complaint=complaint and action == "opened", service_type=svc))
        else:
            _, survey, raw, complaint = body
            low, high = SURVEYS.get(survey, (None, None))
            score = None if low is None else low + raw % (high - low + 1)
            events.append(f.feedback(t, survey, score, complaint=complaint, service_type=svc))
    return events


streams = st.lists(spec, min_size=1, max_size=60).map(build)

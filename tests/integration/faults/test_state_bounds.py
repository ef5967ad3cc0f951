"""State records at their maxima fit the changelog by design (docs/rules.md, "Limits").

On the real broker, a worker whose changelog topics have the smallest limit the settings
accept (``worker.changelog_max_message_bytes`` = 1,048,588, Kafka's 1 MiB) and engine caps
chosen so the incident bound is just under it: one customer is driven to every cap (more
service types than are kept, more tickets, closed tickets, contact ids, alerts, the
de-duplication ring, an outcome) and one service type to ``incident_max_contacts``
undecided contacts, every id at its schema's longest and written with 6-byte escapes. Every
changelog record stays within the computed bound (the incident's reaches ~99 % of it, over
1 MB), the worker keeps running, and a second worker that recovers the tables from the
changelog and reads more of the stream ends exactly as the pure engine.
"""

import random
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from cxpulse.processors.engine import CustomerState, EngineDriver, EngineSettings, IncidentState
from cxpulse.processors.engine.limits import RECORD_OVERHEAD, cooldowns_kept, state_bounds
from cxpulse.schemas import parse_event

from ..worker.conftest import another_worker
from ..worker.helpers import expected_run
from .conftest import assert_engine_outcome, outcome, wait_consumed

pytestmark = pytest.mark.timeout(420)

LIMIT = 1_048_588  # the smallest changelog limit the worker settings take
CAPS = {"max_service_types": 3, "max_window_events": 12, "max_open_tickets": 6, "closed_tickets_kept": 4,
        "recent_alerts": 4, "dedup_event_ids": 16, "contact_ids_kept": 3, "evidence_limit": 10}
# Whole state records (state_delta_min_bytes 0): their sizes at the maxima are what is tested here;
# a delta record is never longer than its base (statelog.py, tests/unit/worker/test_statelog.py).
WORKER = {"changelog_max_message_bytes": LIMIT, "commit_interval_seconds": 0.2, "session_timeout_seconds": 10.0,
          "state_delta_min_bytes": 0}
CUSTOMER = "C" * 64  # customer ids are ASCII: 1 byte a character
SERVICES = ["\U0001f600" * 39 + chr(0x10000 + i) for i in range(5)]  # 40 characters of 4 bytes; 5 > 3 kept
BURST = "\U0001f4a5" * 40  # the service type of the incident


def _max_contacts() -> int:
    """The most undecided contacts an incident state may hold for its record to fit LIMIT."""
    contacts = 2 * 25
    while state_bounds(EngineSettings(**CAPS, incident_max_contacts=contacts + 1)).record_bytes <= LIMIT:
        contacts += 1
    return contacts


def _id(rng: random.Random, n: int) -> str:
    """128 control characters (6 bytes each in JSON), distinct by their first 10 (``n`` in base 4)."""
    alphabet = "\x01\x02\x1e\x1f"
    head = "".join(alphabet[(n >> (2 * k)) & 3] for k in range(10))
    return head + "".join(rng.choice(alphabet) for _ in range(118))


def _at(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _common(eid: str, customer: str, t: datetime, svc: str) -> dict:
    return {"event_id": eid, "customer_id": customer, "occurred_at": _at(t), "channel": "phone",
            "service_type": svc, "segment": "vip", "schema_version": 2}


def _customer_stream(rng: random.Random, start: datetime, n: int, first: int) -> list[dict]:
    """One customer's hostile stream: calls, tickets, surveys, contact starts, outcomes on 5 service types."""
    events, t = [], start
    for i in range(first, first + n):
        t += timedelta(seconds=rng.choice([30, 600, 3600, 7200]))
        svc, eid = rng.choice(SERVICES), _id(rng, i)
        base = _common(eid, CUSTOMER, t, svc)
        kind = rng.random()
        if kind < 0.3:
            link = {"contact_id": _id(rng, 10_000 + i % 5)} if rng.random() < 0.4 else {}
            events.append({**base, "event_type": "call", "direction": "inbound", "wait_seconds": 400.0,
                           "talk_seconds": 60.0, "outcome": rng.choice(["resolved", "abandoned", "unresolved"]),
                           "is_complaint": rng.random() < 0.3, **link})
        elif kind < 0.65:
            action = rng.choice(["opened", "opened", "opened", "updated", "escalated", "resolved", "closed"])
            due = {"due_at": _at(t + timedelta(hours=rng.choice([1, 48])))} if action in ("opened", "updated") else {}
            events.append({**base, "event_type": "ticket", "ticket_id": _id(rng, 20_000 + rng.randrange(14)),
                           "action": action, "priority": "urgent", "is_complaint": rng.random() < 0.3, **due})
        elif kind < 0.85:
            events.append({**base, "event_type": "feedback", "survey": "nps", "score": rng.randrange(11),
                           "is_complaint": rng.random() < 0.3, "channel": "web"})
        elif kind < 0.97:
            events.append({**base, "event_type": "contact_started", "contact_id": _id(rng, 10_000 + i % 7)})
        else:
            events.append({**base, "event_type": "account", "service_type": "account", "channel": "web",
                           "action": rng.choice(["cancelled", "not_renewed", "reactivated"])})
    return events


def _burst(rng: random.Random, at: datetime, n: int, first: int) -> list[dict]:
    """``n`` inbound calls on BURST from distinct customers within 30 s: all undecided at once."""
    return [{**_common(_id(rng, first + i), f"{first + i:0>64}", at + timedelta(seconds=30 * i / n), BURST),
             "event_type": "call", "direction": "inbound", "wait_seconds": 5.0, "talk_seconds": 60.0,
             "outcome": "unresolved"} for i in range(n)]


def _records(events: list[dict]) -> list[tuple[bytes, bytes]]:
    records = [(e["customer_id"].encode(), orjson.dumps(e)) for e in events]
    for _, value in records:
        parse_event(value)  # every one valid: nothing of the test goes to the dead letters
    return records


def _every_state(settings, records: list[tuple[bytes, bytes]]) -> list[CustomerState]:
    """CUSTOMER's state after each of its events, as the pure engine steps them."""
    driver, states = EngineDriver(settings.engine, partitions=settings.topics.partitions), []
    for key, value in records:
        driver.feed(parse_event(value))
        if key == CUSTOMER.encode():
            states.append(CustomerState.from_bytes(driver.states[CUSTOMER].to_bytes()))
    return states


def _changelog(consume, settings, table: str, key: bytes) -> list[bytes]:
    topic = f"{settings.worker.app_id}-{table}-changelog"
    return [r.value for r in sorted(consume(topic, timeout=60), key=lambda r: (r.partition, r.offset))
            if r.key == key and r.value is not None]


def test_a_customer_and_an_incident_at_their_maxima_fit_the_changelog_and_recover(
        settings_factory, produce, consume, worker_factory, wait_for):
    contacts = _max_contacts()
    engine = {**CAPS, "incident_max_contacts": contacts}
    settings = settings_factory(partitions=1, engine=engine, worker=WORKER)  # accepted: the bound fits
    bounds = state_bounds(settings.engine)
    assert bounds.incident.total + RECORD_OVERHEAD <= LIMIT < bounds.incident.total + RECORD_OVERHEAD + 1_000
    rng = random.Random(11)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=60)
    first = _records(_customer_stream(rng, start, 700, 0)
                     + _burst(rng, start + timedelta(days=45), contacts + 40, 100_000))
    second = _records(_customer_stream(rng, start + timedelta(days=46), 150, 700)
                      + _burst(rng, start + timedelta(days=47), 60, 200_000))

    worker = worker_factory(settings)
    produce(settings.topics.events, first)
    wait_consumed(wait_for, settings, workers=[worker])
    assert worker.process.poll() is None and worker.health()["events"] == len(first)  # still running
    assert "RecordTooLarge" not in worker.log()

    incident = _changelog(consume, settings, "service_to_incident", BURST.encode())
    largest = max(incident, key=len)
    assert len(largest) <= bounds.incident.total
    assert len(largest) > 0.98 * bounds.incident.total > 1_000_000  # the maximum, close to the limit
    assert len(IncidentState.from_bytes(largest).contacts) == contacts
    print(f"incident: largest record {len(largest):,} bytes of {len(incident)}, bound {bounds.incident.total:,}")
    states = _changelog(consume, settings, "customer_to_state", CUSTOMER.encode())
    assert max(map(len, states)) <= bounds.customer.total
    print(f"customer: largest record {max(map(len, states)):,} bytes of {len(states)}, bound {bounds.customer.total:,}")
    # The changelog holds a customer's state at the end of each batch: every cap is reached by
    # the engine's run, and no state written passes one (where batches ended depends on timing).
    reached = [CustomerState.from_bytes(data) for data in states]
    caps = settings.engine
    stepped = _every_state(settings, first)
    for size, cap in [
        (lambda s: len(s.contacts), caps.max_service_types),
        (lambda s: len(s.grievances), caps.max_service_types),
        (lambda s: max(map(len, s.contacts.values()), default=0), caps.max_window_events),
        (lambda s: len(s.tickets), caps.max_open_tickets),
        (lambda s: len(s.closed), caps.closed_tickets_kept),
        (lambda s: len(s.seen_ids), caps.dedup_event_ids),
        (lambda s: len(s.recent), caps.recent_alerts),
        (lambda s: len(s.contact_ids), caps.contact_ids_kept),
    ]:
        assert max(map(size, stepped)) == cap and max(map(size, reached)) <= cap  # every cap reached, none passed
    assert max(len(s.cooldowns) for s in reached) <= cooldowns_kept(caps)
    assert any(s.outcome is not None for s in stepped)

    worker.stop()
    produce(settings.topics.events, second)
    again = worker_factory(another_worker(settings))  # its own data directory: the tables come from the changelog
    wait_consumed(wait_for, settings, workers=[again])
    assert again.process.poll() is None and "RecordTooLarge" not in again.log()

    driver = expected_run(settings, first + second)
    assert_engine_outcome(outcome(consume, settings), driver)
    status, body = again.get(f"/customers/{CUSTOMER}")
    assert status == 200 and body["events_seen"] == driver.states[CUSTOMER].events_seen
    later = _changelog(consume, settings, "customer_to_state", CUSTOMER.encode())[len(states):]
    assert later and max(map(len, later)) <= bounds.customer.total
    assert CustomerState.from_bytes(later[-1]) == driver.states[CUSTOMER]  # recovered, then continued exactly
    incident_after = _changelog(consume, settings, "service_to_incident", BURST.encode())[len(incident):]
    assert incident_after and max(map(len, incident_after)) <= bounds.incident.total

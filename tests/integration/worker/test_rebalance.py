"""Partitions moving between workers: what a worker keeps, sweeps and writes for customers it no longer owns."""

from datetime import timedelta

import orjson
import pytest

from cxpulse.processors.worker.faustapp.writer import key_partition

from .conftest import another_worker
from .helpers import expected_run, last_scores, wait_consumed
from .scenario import T0, Scenario

pytestmark = pytest.mark.timeout(300)

CUSTOMERS = 48
SERVICES = ("billing", "account", "repair", "metering")  # 12 customers each: below the incident threshold


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def _tickets_then_resolutions() -> tuple[Scenario, Scenario]:
    """Every customer opens a ticket due in an hour; later each resolves it in time and the clock moves on."""
    opened, later = Scenario(), Scenario()
    for i in range(CUSTOMERS):
        opened.ticket(f"mv-{i:03d}", i, SERVICES[i % 4], f"T-{i}", "opened", due_at=_at(3600))
    later.events = [dict(e, event_id=f"later-{n}") for n, e in enumerate(_resolutions_and_ticks())]
    return opened, later


def _resolutions_and_ticks() -> list[dict]:
    s = Scenario()
    for i in range(CUSTOMERS):
        s.ticket(f"mv-{i:03d}", 1800 + i, SERVICES[i % 4], f"T-{i}", "resolved")
    for i in range(CUSTOMERS):  # on every partition, the stream clock passes the due times
        s.call(f"tick-{i:03d}", 7200 + i * 60, SERVICES[i % 4])
    return s.events


def _both_settled(workers, partitions: int):
    bodies = [w.health() for w in workers]
    if any(b is None or b["rebalancing"] or not b["owned_partitions"] for b in bodies):
        return None
    owned = [set(b["owned_partitions"]) for b in bodies]
    return bodies if sum(map(len, owned)) == partitions and not owned[0] & owned[1] else None


def test_a_worker_keeps_no_customer_of_a_partition_that_moved_away(settings_factory, produce, consume,
                                                                    worker_factory, wait_for):
    partitions = 4
    settings = settings_factory(partitions=partitions, worker={"session_timeout_seconds": 10.0})
    opened, later = _tickets_then_resolutions()
    produce(settings.topics.events, opened.records())
    first = worker_factory(settings)
    wait_for(lambda: (first.health() or {}).get("events") == CUSTOMERS, timeout=60, message="first worker read all")

    second = worker_factory(another_worker(settings), ready_timeout=120)
    wait_for(lambda: _both_settled([first, second], partitions), timeout=120, message="partitions split, recovered")
    produce(settings.topics.events, later.records())
    wait_consumed(wait_for, settings, timeout=120, workers=[first, second])

    bodies = _both_settled([first, second], partitions)
    assert bodies, "a rebalance happened after the split"
    customers = {e["customer_id"] for e in opened.events + later.events}
    for body in bodies:  # each worker holds exactly the customers of its own partitions
        owned = set(body["owned_partitions"])
        assert body["customers_stored"] == sum(key_partition(c.encode(), partitions) in owned for c in customers)

    expected = expected_run(settings, opened.records() + later.records())
    assert not [a for a in expected.alerts if a.rule == "sla_breach"]  # every ticket was resolved in time
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts)]
    assert {(a["alert_id"], a["status"]) for a in alerts} == {(a.alert_id, a.status) for a in expected.alerts}
    scores = last_scores(consume(settings.topics.scores))
    assert scores.keys() == expected.states.keys()
    for customer_id, state in expected.states.items():
        snapshot = expected.engine.snapshot(state)
        assert (scores[customer_id]["score"], scores[customer_id]["open_tickets"]) == (
            pytest.approx(snapshot.score, abs=1e-9), snapshot.open_tickets)

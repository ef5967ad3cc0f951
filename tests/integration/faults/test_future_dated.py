"""One future-dated event must not breach other customers' tickets (issue 14.4), live and in a replay.

An event dated 23 h after the moment it is produced is valid (the limit is one day). It
used to move its partition's stream clock 23 h forward: another customer's ticket due in
2 h breached a second later on that partition, and on an idle one through the overall
clock. Now a record moves its partition's clock no further than its Kafka timestamp
(plus ``engine.stream_clock_lead_seconds``, 0): no breach, live or in the replay of the topic.
"""

import time
from datetime import datetime, timezone

import orjson
import pytest

from .conftest import assert_engine_outcome, engine_on_topic, outcome, wait_consumed

pytestmark = pytest.mark.timeout(300)


def _at(moment: float) -> str:
    return datetime.fromtimestamp(round(moment), timezone.utc).isoformat()


def _events(now: float) -> list[tuple[str, bytes]]:
    common: dict[str, object] = {"channel": "web", "service_type": "billing"}
    rows: list[tuple[str, dict[str, object]]] = [
        ("C-ticket", {"event_id": "t-open", "event_type": "ticket", "occurred_at": _at(now - 60), "ticket_id": "T-1",
                      "action": "opened", "due_at": _at(now + 2 * 3600)}),
        ("C-ahead", {"event_id": "ahead", "event_type": "call", "occurred_at": _at(now + 23 * 3600),
                     "direction": "inbound", "wait_seconds": 5, "talk_seconds": 60, "outcome": "resolved"}),
        ("C-other", {"event_id": "other", "event_type": "call", "occurred_at": _at(now - 30),
                     "direction": "inbound", "wait_seconds": 5, "talk_seconds": 60, "outcome": "resolved"}),
    ]
    return [(c, orjson.dumps({**common, **e, "customer_id": c})) for c, e in rows]


@pytest.mark.parametrize("partitions", [1, 2])
def test_an_event_dated_23_hours_ahead_breaches_no_other_customers_ticket(
        settings_factory, produce, consume, worker_factory, wait_for, partitions):
    settings = settings_factory(partitions=partitions, engine={"partition_idle_seconds": 2.0})
    records = _events(time.time())
    produce(settings.topics.events, records)
    worker = worker_factory(settings)
    wait_for(lambda: (worker.health() or {}).get("events") == len(records), timeout=120,
             message="the worker read every record")
    # Every partition goes idle (and follows the overall clock) once nothing more is read.
    wait_for(lambda: (worker.health() or {}).get("idle_partitions") == partitions, timeout=60,
             message="every partition idle, swept by the overall clock")
    wait_consumed(wait_for, settings, workers=[worker])

    got = outcome(consume, settings)
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts, timeout=5)]
    assert [a for a in alerts if a["rule"] == "sla_breach"] == []
    driver, _ = engine_on_topic(settings, consume(settings.topics.events, count=len(records)))
    assert [a for a in driver.alerts if a.rule == "sla_breach"] == []
    assert_engine_outcome(got, driver)

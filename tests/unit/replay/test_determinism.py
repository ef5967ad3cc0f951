"""Replaying the records the live worker read gives its verdicts, alert ids, alerts and final scores.

The reference is the worker's own batch code (``worker_model.LiveModel``), fed the same
records in batches of random sizes; the replay is :class:`Replayer` over the same
partitions. The last test pins down the one edge, documented in docs/replay.md.
"""

import random

import orjson
import pytest

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.engine import EngineSettings
from cxpulse.processors.replay.ranges import merge_partitions
from cxpulse.processors.replay.run import Replayer

from .factories import simulated_values, topic_records
from .worker_model import LiveModel


@pytest.fixture(scope="module")
def values() -> list:
    """A simulated week with every rule, plus duplicates and invalid records mixed in."""
    values: list = simulated_values(customers=1000, days=6, seed=11)
    rng = random.Random(11)
    for _ in range(60):  # a producer retrying: the same event again, a little later
        i = rng.randrange(len(values) - 50)
        values.insert(i + rng.randrange(1, 50), values[i])
    for n in range(20):
        values.insert(rng.randrange(len(values)), (b"C-bad", b'{"event_id": "broken-%d"' % n))
    values.insert(100, (b"cust-11-000001", values[200]))  # the key of another customer
    return values


def replay(parts: list[list[SourceRecord]], settings: EngineSettings | None = None):
    invalid: list = []
    result = Replayer(settings or EngineSettings(), 86400.0, on_invalid=lambda r, why: invalid.append((r, why))).run(
        merge_partitions([iter(p) for p in parts]))
    alerts = [a.model_dump(mode="json", exclude={"emitted_at"}) for a in result.alerts]
    scores = {s.customer_id: s.model_dump(mode="json") for s in result.snapshots()}
    return result, alerts, scores, invalid


def live_run(parts: list[list[SourceRecord]], seed: int, settings: EngineSettings | None = None) -> LiveModel:
    """A worker keeping up with the topic: batches of 1..800 records in the order they arrive."""
    rng = random.Random(seed)
    live = LiveModel(settings)
    pending = list(merge_partitions([iter(p) for p in parts]))
    while pending:
        size = rng.randint(1, 800)
        live.batch(pending[:size])
        pending = pending[size:]
    return live


def by_id(alerts: list[dict]) -> dict:
    return {(a["alert_id"], a["status"]): a for a in alerts}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_equals_the_live_worker(values, seed):
    parts = topic_records(values, partitions=3)
    live = live_run(parts, seed)

    result, alerts, scores, invalid = replay(parts)

    assert len(alerts) == len(live.alerts()) > 150
    assert by_id(alerts) == by_id(live.alerts())
    assert {a["rule"] for a in alerts} == {"repeat_contact", "sensitive_customer", "sensitive_contact",
                                            "detractor", "sla_breach", "churn_risk", "incident"}
    assert scores == live.scores()
    assert sorted((r.partition, r.offset, why) for r, why in invalid) == sorted(
        (d["partition"], d["offset"], d["error"]) for d in live.dead_letters())
    assert result.counts.invalid == 21 and result.counts.duplicates == 60


def test_replay_equals_the_live_worker_with_other_settings(values):
    settings = EngineSettings(repeat_warning_at=2, cooldown_seconds=3600, weights={"complaint": 35})
    parts = topic_records(values, partitions=2)

    _, alerts, scores, _ = replay(parts, settings)
    live = live_run(parts, 9, settings)

    assert by_id(alerts) == by_id(live.alerts()) and scores == live.scores()


def test_a_worker_reading_one_partition_far_ahead_breaches_nothing_the_replay_does_not():
    """Each partition has its own clock. A worker catching up on one partition while another
    lags passes a ticket's due time on the fast partition only: the ticket on the slow one
    is checked against its own partition's clock, so its on-time resolution is read first.
    (With one clock over every partition, the worker breached it and withdrew the breach.)"""
    def event(eid, customer, hour, **fields):
        body = {"event_id": eid, "customer_id": customer, "occurred_at": f"2025-03-04T{hour:02d}:00:00Z",
                "channel": "web", "service_type": "billing", **fields}
        return customer.encode(), orjson.dumps(body)

    opened = event("t1", "C-A", 8, event_type="ticket", ticket_id="T1", action="opened",
                   due_at="2025-03-04T12:00:00Z")
    resolved = event("t2", "C-A", 11, event_type="ticket", ticket_id="T1", action="resolved")
    later = event("c1", "C-B", 15, event_type="call", direction="inbound", wait_seconds=1.0, talk_seconds=60.0,
                  outcome="resolved")
    written = 1741100000000  # 2025-03-04T14:53:20Z: written in event-time order, one ms apart
    parts = [[SourceRecord(0, 0, written + 1, *opened), SourceRecord(0, 1, written + 2, *resolved)],
             [SourceRecord(1, 0, written + 3, *later)]]
    live = LiveModel()
    live.batch([parts[0][0], parts[1][0]])  # partition 1 arrives first; its clock passes 12:00
    live.batch([parts[0][1]])

    _, alerts, scores, _ = replay(parts)

    assert live.alerts() == alerts == []
    assert live.scores()["C-A"] == scores["C-A"]


def test_a_plain_event_file_replays_like_the_topic_it_was_produced_to():
    """File lines carry no partition: each gets the partition Kafka's partitioner gives its
    key, so the per-partition clocks (SLA breaches) and the incidents come out the same."""
    values = simulated_values(customers=600, days=4, seed=12)
    parts = topic_records(values, partitions=3)
    lines = [SourceRecord(None, n, None, None, v) for n, v in enumerate(values)]

    from_topic = Replayer(EngineSettings(), 86400.0, partitions=3).run(merge_partitions([iter(p) for p in parts]))
    from_file = Replayer(EngineSettings(), 86400.0, partitions=3).run(iter(lines))
    one_stream = Replayer(EngineSettings(), 86400.0).run(iter(lines))

    dump = lambda result: sorted((a.alert_id, a.status, a.model_dump_json()) for a in result.alerts)  # noqa: E731
    assert dump(from_file) == dump(from_topic)
    assert {a.rule for a in from_file.alerts} >= {"sla_breach", "incident"}
    assert set(from_file.driver.clocks.partitions()) == {0, 1, 2}
    assert set(one_stream.driver.clocks.partitions()) == {None}

"""Reading the worker's outputs and progress from the broker."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from cxpulse.clients import kafka_python_config
from cxpulse.processors.engine import EngineDriver
from cxpulse.schemas import parse_event
from cxpulse.settings import Settings

__all__ = ["Outcome", "alert_key", "assert_engine_outcome", "committed_offsets", "committed_total", "consumed_everything", "difference", "expected_run",
           "lagging", "last_scores", "outcome", "settled", "source_topics", "wait_consumed"]


def alert_key(alert: dict[str, Any]) -> tuple[str, str | None, str]:
    return alert["rule"], alert["customer_id"], alert["service_type"]


def expected_run(settings: Settings, records: list[tuple[bytes, bytes]]) -> EngineDriver:
    """The pure engine's verdict on the valid records, in the order they were produced
    (each on the partition Kafka's default partitioner gives its customer)."""
    driver = EngineDriver(settings.engine, partitions=settings.topics.partitions)
    for _, value in records:
        driver.feed(parse_event(value))
    driver.finish()
    return driver


def last_scores(records: list) -> dict[str, dict[str, Any]]:
    """The latest snapshot per customer on a score topic (records in offset order per partition)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        latest[record.key.decode()] = orjson.loads(record.value)
    return latest


def consumed_everything(settings: Settings, topics: list[str]) -> bool:
    """Whether the worker's consumer group has committed every topic up to its end offsets."""
    return not lagging(settings, topics)


def lagging(settings: Settings, topics: list[str]) -> dict[str, tuple[int | None, int]]:
    """``{"topic/partition": (committed, end)}`` of every partition not yet committed to its end."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    config = kafka_python_config(settings.kafka)
    admin = KafkaAdminClient(**config)
    consumer = KafkaConsumer(**config, group_id=None)
    try:
        group = settings.worker.app_id
        committed = admin.list_group_offsets({group: None}).get(group, {})
        wanted = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(wanted)
        if not wanted:
            return {"(no partitions yet)": (None, 0)}
        done = lambda tp, end: end == 0 or (tp in committed and committed[tp].offset >= end)  # noqa: E731
        return {f"{tp.topic}/{tp.partition}": (committed[tp].offset if tp in committed else None, end)
                for tp, end in ends.items() if not done(tp, end)}
    finally:
        consumer.close()
        admin.close()


def committed_total(settings: Settings, topic: str) -> int:
    """Sum of the worker group's committed offsets on ``topic`` (0 before its first commit)."""
    return sum(committed_offsets(settings, topic).values())


def committed_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """The worker group's committed offset of each partition of ``topic`` that has one above 0."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka_python_config(settings.kafka))
    try:
        group = settings.worker.app_id
        committed = admin.list_group_offsets({group: None}).get(group, {})
        return {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset > 0}
    finally:
        admin.close()


def counts(alerts: list[dict[str, Any]]) -> Counter:
    return Counter(alert_key(a) for a in alerts)


def settled(health: dict[str, Any] | None) -> bool:
    """Whether every partition the worker owns is idle and its last mark delivered: the
    final SLA sweep at the overall clock is done and the incident agent can decide every window."""
    owned = (health or {}).get("owned_partitions") or []
    return bool(owned) and health["idle_partitions"] >= len(owned)


@dataclass(frozen=True)
class Outcome:
    """What the pipeline wrote for one run."""

    alerts: set[tuple[str, str]]
    alert_records: int
    scores: dict[str, dict[str, Any]]
    records: tuple[dict[str, Any], ...] = ()  # every alert record, in the order consumed
    events: tuple[tuple[int, int, bytes], ...] = ()  # (partition, offset, value) of the events topic as stored


def outcome(consume: Callable[..., list], settings: Settings) -> Outcome:
    """What the pipeline wrote: every ``(alert_id, status)`` on the alerts topic (and how many
    records carried them) and the last ``cx.scores`` snapshot per customer."""
    alerts = [orjson.loads(r.value) for r in consume(settings.topics.alerts)]
    events = tuple(sorted((r.partition, r.offset, r.value) for r in consume(settings.topics.events)))
    return Outcome({(a["alert_id"], a["status"]) for a in alerts}, len(alerts),
                   last_scores(consume(settings.topics.scores)), tuple(alerts), events)


def assert_engine_outcome(got: Outcome, driver: Any) -> None:
    """``got`` equals the pure engine's run: the same alert set and every final score."""
    wanted = {(a.alert_id, a.status) for a in driver.alerts}
    assert got.alerts == wanted, difference(got, driver, wanted)
    assert got.scores.keys() == driver.states.keys()
    for customer_id, state in driver.states.items():
        snapshot = driver.engine.snapshot(state)
        assert got.scores[customer_id]["score"] == pytest.approx(snapshot.score, abs=1e-9), customer_id
        assert got.scores[customer_id]["events_seen"] == snapshot.events_seen, customer_id


def difference(got: Outcome, driver: Any, wanted: set[tuple[str, str]]) -> str:
    """What a failed alert comparison found, by rule and customer: enough to tell a lost or
    repeated event (one customer's alerts shifted) from a clock moved wrongly (breaches)."""
    def summary(alerts: list[dict[str, Any]]) -> str:
        rules = Counter(a["rule"] for a in alerts)
        customers = Counter(a.get("customer_id") for a in alerts)
        first = sorted(alerts, key=lambda a: a.get("triggered_at") or "")[:3]
        return (f"{len(alerts)} by rule {dict(rules.most_common())}, {len(customers)} customer(s) "
                f"{[c for c, _ in customers.most_common(5)]}, earliest "
                f"{[(a['alert_id'], a['rule'], a.get('customer_id'), a.get('triggered_at')) for a in first]}")

    missing = [a.model_dump(mode="json") for a in driver.alerts if (a.alert_id, a.status) not in got.alerts]
    extra = [a for a in got.records if (a["alert_id"], a["status"]) not in wanted]
    return f"missing {summary(missing)}; extra {summary(extra)}; {_against_topic(got)}"


def _against_topic(got: Outcome) -> str:
    """The events topic as the broker stored it: repeated records, and whether each partition holds
    the scripted stream's event ids (``ev-000123``, numbered in produce order) in increasing order."""
    if not got.events:
        return "events topic not read"
    ids: dict[int, list[str]] = {}
    for partition, _, value in got.events:
        try:
            ids.setdefault(partition, []).append(orjson.loads(value)["event_id"])
        except (ValueError, KeyError, TypeError):
            continue  # an invalid record: a dead letter
    found = [i for partition in ids.values() for i in partition]
    unordered = {p: next(n for n, (a, b) in enumerate(zip(v, v[1:], strict=False)) if a >= b)
                 for p, v in ids.items() if any(a >= b for a, b in zip(v, v[1:], strict=False))}
    return (f"events topic: {len(found)} records, {len(found) - len(set(found))} repeated; "
            f"partitions whose event ids are not increasing (first place): {unordered or 'none'}")


def source_topics(settings: Settings) -> list[str]:
    """The topics the worker group reads: the events and its internal contacts topic."""
    return [settings.topics.events, f"{settings.worker.app_id}-contacts"]


def wait_consumed(wait_for: Callable[..., Any], settings: Settings, timeout: float = 180,
                  workers: Iterable[Any] = ()) -> None:
    """Wait until the worker group has committed the events and contacts topics to their ends;
    on failure print the lag and the workers' last log lines."""
    try:
        wait_for(lambda: consumed_everything(settings, source_topics(settings)), timeout=timeout,
                 interval=0.5, message="the worker group committed every record")
    except BaseException:
        print("lagging:", lagging(settings, source_topics(settings)))
        for worker in workers:
            print(f"--- {worker.log_path.name}:\n{worker.log()}")
        raise

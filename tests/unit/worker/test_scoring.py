"""ScoringProcessor: one batch of raw records through the engine, with no Kafka (see conftest)."""

from datetime import datetime, timedelta, timezone

import orjson
import pytest
from faust.types.tuples import Message

from cxpulse.processors.worker.clock import SlaClock
from cxpulse.processors.engine import CustomerState, Engine, EngineSettings
from cxpulse.processors.worker.records import compact
from cxpulse.processors.worker.scoring import KEY_MISMATCH, BatchStats, OutputTopics, ScoringProcessor
from cxpulse.processors.worker.faustapp.writer import key_partition
from cxpulse.schemas import AgentWarning

from .conftest import HOUR, T0, ListSink, faust_message

TOPICS = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog")


class Batches:
    """A ScoringProcessor over a dict store; ``run(records)`` returns (stats, effects, state)."""

    def __init__(self, cache_size: int = 0, engine: Engine | None = None, store: dict[bytes, bytes] | None = None) -> None:
        self.store: dict[bytes, bytes] = {} if store is None else store
        self.processor = ScoringProcessor(engine or Engine(), TOPICS, self.store, SlaClock(), 86400.0, cache_size)
        self.offset = 0

    def message(self, value: bytes, key: bytes | None, timestamp: float, partition: int = 0) -> Message:
        self.offset += 1
        return faust_message("cx.events", partition, self.offset, key, value, timestamp)

    def of(self, event: dict, **overrides) -> Message:
        occurred = datetime.fromisoformat(event["occurred_at"]).timestamp()
        fields = {"key": event["customer_id"].encode(), "timestamp": occurred + 1.0, "partition": 1, **overrides}
        return self.message(orjson.dumps(event), **fields)

    def run(self, messages):
        effects, state = ListSink(), ListSink()
        stats = self.processor.process(messages, effects, state, "2025-03-03T09:00:00+00:00")
        return stats, effects.records, state.records


def _on(records, topic):
    return [r for r in records if r[0] == topic]


def test_invalid_records_are_dead_lettered_and_the_batch_goes_on(events):
    batches = Batches()
    good = events.call(0, customer="C-1")
    stats, effects, state = batches.run([batches.message(b"{nope", b"C-9", 1.0), batches.of(good)])
    [letter] = _on(effects, "dlq")
    body = orjson.loads(letter[2])
    assert body["error"].startswith("not valid JSON")
    assert (body["source_topic"], body["partition"], body["offset"], body["key"]) == ("cx.events", 0, 1, "C-9")
    assert (stats.events, stats.invalid) == (2, 1)
    assert list(batches.store) == [b"C-1"]
    assert [r[1] for r in _on(state, "changelog")] == [b"C-1"]


def test_a_record_keyed_by_something_else_is_dead_lettered(events):
    batches = Batches()
    stats, effects, state = batches.run([batches.of(events.call(0, customer="C-1"), key=b"C-2")])
    assert orjson.loads(_on(effects, "dlq")[0][2])["error"] == KEY_MISMATCH
    assert state == [] and batches.store == {}


@pytest.mark.parametrize(("read_after_seconds", "valid"), [(-2 * 86400.0, False), (-86400.0 + 60, True)])
def test_the_future_check_uses_the_record_timestamp(events, read_after_seconds, valid):
    batches = Batches()
    event = events.call(0)
    occurred = T0.timestamp()
    stats, effects, _ = batches.run([batches.of(event, timestamp=occurred + read_after_seconds)])
    assert stats.invalid == (0 if valid else 1)
    if not valid:
        assert orjson.loads(_on(effects, "dlq")[0][2])["error"].startswith("occurred_at")


def test_one_changelog_record_and_one_snapshot_per_changed_customer(events):
    batches = Batches()
    records = [events.call(i * 60, customer=c, outcome="unresolved") for i in range(3) for c in ("C-1", "C-2")]
    stats, effects, state = batches.run([batches.of(e, partition=4) for e in records])
    changelog = _on(state, "changelog")
    assert sorted(r[1] for r in changelog) == [b"C-1", b"C-2"]
    assert all(r[3] == 4 for r in changelog)  # the source partition
    assert sorted(r[1] for r in _on(state, "scores")) == [b"C-1", b"C-2"]
    assert CustomerState.from_bytes(batches.store[b"C-1"]).events_seen == 3
    alerts = [orjson.loads(r[2]) for r in _on(effects, "alerts")]
    assert {("repeat_contact", "C-1"), ("repeat_contact", "C-2")} <= {(a["rule"], a["customer_id"]) for a in alerts}
    assert all(a["emitted_at"] == "2025-03-03T09:00:00+00:00" for a in alerts)
    assert all(r[1] == a["customer_id"].encode() for r, a in zip(_on(effects, "alerts"), alerts, strict=True))
    contacts = [r for r in _on(effects, "contacts") if r[1] is not None]  # keyless: the partition clocks' mark
    assert len(contacts) == 6 and stats.customers == 2


def test_a_replayed_batch_changes_nothing_and_emits_nothing(events):
    batches = Batches()
    records = [events.call(i * 60, customer="C-1", outcome="unresolved") for i in range(4)]
    batches.run([batches.of(e) for e in records])
    before = dict(batches.store)
    stats, effects, state = batches.run([batches.of(e) for e in records])
    assert (stats.duplicates, effects, state) == (4, [], [])
    assert batches.store == before


def _at_offsets(batches, stream, first=0, partition=1):
    """The stream's records at fixed offsets of one partition (as a second read of it gives them again)."""
    return [faust_message("cx.events", partition, first + i, e["customer_id"].encode(), orjson.dumps(e),
                          datetime.fromisoformat(e["occurred_at"]).timestamp() + 1.0) for i, e in enumerate(stream)]


@pytest.mark.parametrize("cache_size", [0, 10])
def test_records_read_again_after_a_restart_are_applied_once_however_many(events, cache_size):
    # 12 events of one customer, a de-duplication ring of 2: after a restart that reads them all
    # again (their offsets were not committed), only the state's source position can tell.
    stream = [events.call(i * 600, customer="C-1", outcome="unresolved", complaint=i % 3 == 0) for i in range(15)]
    engine = Engine(EngineSettings(dedup_event_ids=2))
    straight = Batches(engine=engine)
    _, straight_effects, _ = straight.run(_at_offsets(straight, stream))

    before = Batches(cache_size, engine=engine)
    _, first_effects, _ = before.run(_at_offsets(before, stream[:12]))
    assert CustomerState.from_bytes(before.store[b"C-1"]).source == (1, 11)
    restarted = Batches(cache_size, engine=engine, store=dict(before.store))  # the tables recovered
    stats, effects, _ = restarted.run(_at_offsets(restarted, stream))  # read again from the committed offset 0
    assert (stats.redelivered, stats.duplicates) == (12, 12)
    def written(records):  # alerts and contacts (a batch's clock mark, a keyless contacts record, is per batch)
        return [r for r in records if r[1] is not None]

    assert written(first_effects + effects) == written(straight_effects)  # nothing twice, nothing missing
    assert restarted.store == straight.store
    assert _on(straight_effects, "alerts")  # the stream raises alerts: a second application would repeat them


def test_a_source_position_on_another_partition_says_nothing(events):
    # More partitions for the topic move a customer: its records there are new, whatever their offsets.
    batches = Batches()
    batches.run(_at_offsets(batches, [events.call(0, customer="C-1")], first=40, partition=1))
    stats, _, state = batches.run(_at_offsets(batches, [events.call(600, customer="C-1")], first=3, partition=4))
    assert (stats.redelivered, stats.duplicates) == (0, 0) and _on(state, "changelog")
    assert CustomerState.from_bytes(batches.store[b"C-1"]).source == (4, 3)


def test_the_stream_clock_breaches_a_silent_customers_ticket(events):
    batches = Batches()
    batches.run([batches.of(events.ticket(0, "T-1", customer="C-1", due=HOUR))])
    stats, effects, state = batches.run([batches.of(events.call(2 * HOUR, customer="C-2"))])
    breaches = [orjson.loads(r[2]) for r in _on(effects, "alerts") if orjson.loads(r[2])["rule"] == "sla_breach"]
    assert [a["customer_id"] for a in breaches] == ["C-1"]
    assert datetime.fromisoformat(breaches[0]["triggered_at"]) == T0 + timedelta(hours=1)  # the due time
    assert sorted(r[1] for r in _on(state, "changelog")) == [b"C-1", b"C-2"]


def test_customers_of_partitions_owned_elsewhere_are_dropped_and_never_swept(events):
    batches = Batches(cache_size=10)
    opened = [batches.of(events.ticket(0, f"T-{p}", customer=f"C-{p}", due=HOUR), partition=p) for p in (0, 1, 2)]
    batches.run(opened)
    assert batches.processor.retain({1, 2}) == 1  # partition 0 moved to another worker
    assert sorted(batches.store) == [b"C-1", b"C-2"] and sorted(batches.processor.key_partitions) == [b"C-1", b"C-2"]

    batches.processor.suspend()  # a rebalance begins: nothing is swept, even what is still stored
    stats = BatchStats()
    for partition in (0, 1, 2):
        batches.processor.clock.observe(partition, (T0 + timedelta(hours=2)).timestamp())
    effects = ListSink()
    batches.processor.sweep({}, effects, "2025-03-03T11:00:00+00:00", stats)
    assert (stats.alerts, effects.records) == (0, [])

    batches.processor.retain({1})
    _, effects, state = batches.run([batches.of(events.call(3 * HOUR, customer="C-1"), partition=1)])
    breached = {orjson.loads(r[2])["customer_id"] for r in _on(effects, "alerts") if b"sla_breach" in r[2]}
    assert breached == {"C-1"}  # C-0 and C-2 live on partitions owned elsewhere
    assert sorted(r[1] for r in _on(state, "changelog")) == [b"C-1"]


def test_the_live_state_cache_changes_no_output(events):
    stream = [events.call(i * 600, customer=f"C-{i % 3}", outcome=("unresolved" if i % 2 else "abandoned"))
              for i in range(30)]
    outputs = []
    for cache_size in (0, 2):
        batches = Batches(cache_size)
        seen = []
        for start in range(0, len(stream), 4):
            if start == 16:
                batches.processor._cache.clear()  # as a rebalance does
            _, effects, state = batches.run([batches.of(e) for e in stream[start:start + 4]])
            seen.append((effects, state))
        outputs.append((seen, batches.store))
    assert outputs[0] == outputs[1]


def test_compact_keeps_the_bytes():
    data = orjson.dumps({"a": [1, 2, 3]})
    assert compact(data) == data


def test_key_partition_is_kafkas_default_partitioner():
    from kafka.partitioner.default import murmur2

    for key in (b"C-1", b"customer-0042", "顧客".encode()):
        assert key_partition(key, 6) == (murmur2(key) & 0x7FFFFFFF) % 6
    assert datetime.now(timezone.utc) > T0  # the fixtures' epoch is in the past


WARNED = OutputTopics(alerts="alerts", scores="scores", dlq="dlq", contacts="contacts", changelog="changelog",
                      warnings="warnings")


def test_a_contact_start_writes_the_agent_warning_with_its_alerts(events):
    batches = Batches()
    batches.processor.topics = WARNED
    stream = [events.feedback(0, 1), events.feedback(HOUR, 1), events.feedback(2 * HOUR, 5),
              events.start(3 * HOUR, "K-1", event_id="s-1"), events.call(3 * HOUR + 60, event_id="c-9")]
    stream[-1]["contact_id"] = "K-1"
    stats, effects, _ = batches.run([batches.of(e) for e in stream])

    [(topic, key, value, partition)] = _on(effects, "warnings")
    warning = orjson.loads(value)
    assert (key, partition, stats.warnings) == (b"C-1", None, 1)
    assert warning["event_id"] == "s-1" and warning["emitted_at"] == "2025-03-03T09:00:00+00:00"
    assert AgentWarning.model_validate(warning).model_dump(mode="json").keys() == warning.keys()  # the contract
    alerts = {orjson.loads(r[2])["alert_id"]: orjson.loads(r[2]) for r in _on(effects, "alerts")}
    assert [alerts[a]["rule"] for a in warning["alerts"]] == ["sensitive_contact"]
    assert alerts[warning["alerts"][0]]["evidence"][-1] == "s-1"
    # The end record carries the points and raises nothing again; only one contact went to the incident agent.
    contacts = [orjson.loads(r[2]) for r in _on(effects, "contacts") if r[2][:1] == b"["]  # not the marks
    assert [c[3] for c in contacts] == ["s-1"]


def test_no_warnings_topic_means_no_warning(events):
    batches = Batches()
    _, effects, _ = batches.run([batches.of(events.start(0, "K-1"))])

    assert "warnings" not in {r[0] for r in effects} and _on(effects, "contacts")

"""The worker's faust agents under faust's ``Agent.test_context()``, with no broker.

The app is the worker's own (``create_app``) with ``worker.direct_delivery`` off, so records
reach the ``score_events`` and ``detect_incidents`` agents through faust streams and
``take_events`` batches, as they do when direct delivery is off. Only the network client
is replaced: :class:`RecordingProducer` stands where aiokafka's producer stands
(``app.producer._producer``, what ``BatchWriter`` sends its record batches to) and keeps
every record, decoded back from the real aiokafka record batch it was handed. Agents,
runtime, scoring, writer, tables and engine are the real code; every result is compared
with the pure engine (``EngineDriver``, ``IncidentEngine``) on the same events.

An agent under ``test_context`` is fed with ``put(value, key=..., partition=...)``; a
record has been processed when faust acked it (``take_events`` acks a batch after the
agent's body has handled it), which is what :func:`processed` waits for.
"""

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from math import inf
from typing import Any, NamedTuple

import orjson
import pytest
from aiokafka.errors import UnknownTopicOrPartitionError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import RecordMetadata, TopicPartition

from cxpulse.processors.worker.faustapp.app import WorkerApp, create_app
from cxpulse.processors.engine import CustomerState, Engine, EngineDriver, IncidentEngine
from cxpulse.processors.worker.scoring import KEY_MISMATCH
from cxpulse.processors.worker.faustapp.writer import key_partition
from cxpulse.schemas import DeadLetter, ScoreSnapshot, parse_event
from cxpulse.settings import Settings

from ..conftest import DAY, HOUR, T0, Events

PARTITIONS = 2  # of every topic: customers on both partitions of cx.events, each with its own clock


class Sent(NamedTuple):
    topic: str
    partition: int
    key: bytes | None
    value: bytes | None


class RecordingProducer:
    """What ``BatchWriter`` uses of ``aiokafka.AIOKafkaProducer``, ending in a list instead of a socket.

    ``create_batch`` returns aiokafka's own ``BatchBuilder``; ``send_batch`` reads the built
    record batch back (CRC checked) and keeps ``(topic, partition, key, value)`` per record,
    in the order handed over. Metadata knows exactly the topics the worker should write,
    each with ``partitions`` partitions: any other topic fails as a broker without it would.
    """

    def __init__(self, topics: Iterable[str], partitions: int, batch_size: int) -> None:
        self.partitions = {topic: partitions for topic in topics}
        self.batch_size = batch_size
        self.records: list[Sent] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self.client = self  # BatchWriter reads metadata through ``producer.client``
        self.cluster = self

    async def _wait_on_metadata(self, topic: str) -> set[int]:
        if topic not in self.partitions:
            raise UnknownTopicOrPartitionError(topic)
        return self.partitions_for_topic(topic)

    async def partitions_for(self, topic: str) -> set[int]:  # aiokafka's public call: metadata of one topic
        return await self._wait_on_metadata(topic)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self.partitions.get(topic)
        return None if count is None else set(range(count))

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, compression_type=0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future:
        await self._wait_on_metadata(topic)
        if partition not in self.partitions_for_topic(topic):
            raise ValueError(f"{topic} has no partition {partition}")
        records = DefaultRecordBatch(bytes(batch._build()))
        assert records.validate_crc()
        base = self._offsets.get((topic, partition), 0)
        count = 0
        for record in records:
            self.records.append(Sent(topic, partition, record.key, record.value))
            count += 1
        self._offsets[(topic, partition)] = base + count
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(RecordMetadata(topic, partition, TopicPartition(topic, partition), base, None, 0, 0))
        return delivered

    def on(self, topic: str) -> list[Sent]:
        return [r for r in self.records if r.topic == topic]


@dataclass
class AgentApp:
    """The worker app (``create_app``) whose producer is a :class:`RecordingProducer`."""

    app: WorkerApp
    settings: Settings
    producer: RecordingProducer

    @property
    def runtime(self) -> Any:
        return self.app.runtime

    @property
    def contacts_topic(self) -> str:
        return self.runtime.contacts_topic

    def agent(self, name: str) -> Any:
        return self.app.agents[name]

    async def put(self, agent: Any, value: bytes, key: bytes | None, timestamp: float | None = None,
                  partition: int | None = None) -> Any:
        """Put one record (raw key and value bytes) into ``agent``'s stream; without ``partition``,
        on the one Kafka's default partitioner gives its key, as for ``cx.events``."""
        if partition is None:
            partition = key_partition(key, PARTITIONS) if key else 0
        return await agent.put(value, key=key, partition=partition, timestamp=timestamp)

    async def score(self, agent: Any, events: Iterable[dict[str, Any]]) -> list[Any]:
        """Put every event (JSON bytes, keyed by customer, read a second after it occurred); wait for all."""
        sent = [await self.put(agent, orjson.dumps(e), e["customer_id"].encode(),
                               datetime.fromisoformat(e["occurred_at"]).timestamp() + 1.0) for e in events]
        await processed(agent, sent)
        return sent

    def customer_state(self, customer_id: str) -> CustomerState:
        return CustomerState.from_bytes(self.app.tables["customer_to_state"][customer_id.encode()])


async def processed(agent: Any, sent: list[Any], timeout: float = 20.0) -> None:
    """Wait until faust acked every event in ``sent`` (the agent's batch that held it is done)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not all(event.message.acked for event in sent):
        if agent._crash_reason is not None:
            raise agent._crash_reason
        if loop.time() > deadline:
            raise AssertionError(f"{agent.name}: {sum(not e.message.acked for e in sent)} record(s) not processed")
        await asyncio.sleep(0.001)  # yield to the agent; the condition above decides


@pytest.fixture
def agent_app_factory(tmp_path, unique_name) -> Callable[..., AgentApp]:
    """``agent_app_factory(**engine)`` -> AgentApp; call it inside the running event loop."""

    def build(**engine: Any) -> AgentApp:
        settings = Settings(
            # Nothing connects under test_context; an address nothing listens on all the same.
            kafka={"bootstrap_servers": "127.0.0.1:9"},
            topics={"partitions": PARTITIONS},
            # No partition of cx.events goes idle by wall time during a test: the reference
            # EngineDriver, fed without receive times, never moves an idle partition's clock.
            engine={"partition_idle_seconds": 10 * DAY, **engine},
            worker={"app_id": unique_name("agents"), "direct_delivery": False, "web_enabled": False,
                    "store": "memory://", "data_dir": str(tmp_path / "worker"),
                    "batch_max": 4, "batch_within_seconds": 0.02},
        )
        app = create_app(settings)
        # faust's documented test setup: a finalized app, in-memory tables, flow control resumed.
        app.finalize()
        app.flow_control.resume()
        runtime = app.runtime
        topics = [settings.topics.alerts, settings.topics.scores, settings.topics.dlq, runtime.contacts_topic,
                  runtime.customers.changelog_topic.get_topic_name(),
                  runtime.incidents.changelog_topic.get_topic_name()]
        producer = RecordingProducer(topics, PARTITIONS, settings.worker.producer_max_batch_bytes)
        app.producer._producer = producer  # what Producer._ensure_producer() returns once started
        return AgentApp(app, settings, producer)

    return build


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())


def reference(settings: Settings, events: Iterable[dict[str, Any]]) -> tuple[EngineDriver, dict[str, list]]:
    """The pure engine on ``events`` (each on its customer's partition), and every snapshot
    each customer had along the way, in order."""
    driver = EngineDriver(settings.engine, partitions=PARTITIONS)
    snapshots: dict[str, list[ScoreSnapshot]] = {}
    for event in events:
        driver.feed(parse_event(orjson.dumps(event)))
        for cid, state in driver.states.items():
            snapshot = driver.engine.snapshot(state)
            if not snapshots.get(cid) or snapshots[cid][-1] != snapshot:
                snapshots.setdefault(cid, []).append(snapshot)
    return driver, snapshots


def alerts_by_customer(records: Iterable[Sent]) -> dict[str, list[dict[str, Any]]]:
    """Alerts per key in the order sent, ``emitted_at`` (the wall clock) set aside."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        alert = orjson.loads(record.value)
        assert alert.pop("emitted_at")
        found.setdefault(record.key.decode(), []).append(alert)
    return found


def engine_alerts_by_customer(alerts: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        data = alert.model_dump(mode="json")
        data.pop("emitted_at")
        found.setdefault(alert.customer_id or alert.service_type, []).append(data)
    return found


def is_subsequence(part: list, whole: list) -> bool:
    rest = iter(whole)
    return all(any(item == other for other in rest) for item in part)


def scripted(events: Events) -> list[dict[str, Any]]:
    """Two customers on two partitions: repeat contacts, a complaint, a detractor (so a sensitive
    customer who then calls again), a ticket that breaches by its own partition's clock."""
    assert key_partition(b"C-1", PARTITIONS) != key_partition(b"C-2", PARTITIONS)
    return [
        events.call(0, customer="C-1"),
        events.ticket(300, "T-1", customer="C-2", service_type="repair", due=HOUR),
        events.call(600, customer="C-1", outcome="unresolved"),
        events.call(900, customer="C-2", service_type="repair"),
        events.call(1200, customer="C-1", complaint=True),
        events.feedback(1800, 1, customer="C-1"),
        events.call(5400, customer="C-2", service_type="repair"),  # C-2's partition passes T-1's due time
        events.feedback(6000, 9, customer="C-2", service_type="repair", survey="nps"),
        events.call(7200, customer="C-1", service_type="repair"),
        events.call(7800, customer="C-1"),
        events.call(8400, customer="C-1", outcome="unresolved"),
    ]


def test_score_events_emits_what_the_engine_decides(agent_app_factory, events):
    stream = scripted(events)

    async def scenario() -> AgentApp:
        worker = agent_app_factory()
        async with worker.agent("score_events").test_context() as agent:
            await worker.score(agent, stream)
        return worker

    worker = run(scenario)
    driver, snapshots = reference(worker.settings, stream)
    topics = worker.settings.topics

    alerts = alerts_by_customer(worker.producer.on(topics.alerts))
    assert alerts == engine_alerts_by_customer(driver.alerts)
    rules = {(a["rule"], a["customer_id"]) for found in alerts.values() for a in found}
    assert {("repeat_contact", "C-1"), ("detractor", "C-1"), ("sensitive_customer", "C-1"),
            ("sensitive_contact", "C-1"), ("sla_breach", "C-2")} <= rules
    assert [a["severity"] for a in alerts["C-1"] if a["rule"] == "repeat_contact"] == ["warning", "critical"]
    assert sum(len(found) for found in alerts.values()) == len(driver.alerts)

    for cid in ("C-1", "C-2"):
        key = cid.encode()
        sent = [r for r in worker.producer.on(topics.scores) if r.key == key]
        assert {r.partition for r in sent} == {key_partition(key, PARTITIONS)}
        got = [ScoreSnapshot.model_validate_json(r.value) for r in sent]
        # One snapshot per changed customer per batch: some of the engine's, in order, ending with its last.
        assert got[-1] == driver.engine.snapshot(driver.states[cid]) == snapshots[cid][-1]
        assert is_subsequence(got, snapshots[cid])
    counters = worker.runtime.counters
    assert (counters.events, counters.invalid, counters.duplicates, counters.alerts) == (
        len(stream), 0, 0, len(driver.alerts))


def test_the_table_holds_each_customer_s_state_as_the_engine_has_it(agent_app_factory, events):
    stream = scripted(events)

    async def scenario() -> AgentApp:
        worker = agent_app_factory()
        async with worker.agent("score_events").test_context() as agent:
            await worker.score(agent, stream[:5])
            assert worker.customer_state("C-1") == reference(worker.settings, stream[:5])[0].states["C-1"]
            await worker.score(agent, stream[5:])
        return worker

    worker = run(scenario)
    driver, _ = reference(worker.settings, stream)
    changelog = worker.producer.on(worker.runtime.customers.changelog_topic.get_topic_name())
    table = worker.app.tables["customer_to_state"]
    assert sorted(table.data) == [b"C-1", b"C-2"]
    for cid in ("C-1", "C-2"):
        key = cid.encode()
        assert worker.customer_state(cid) == driver.states[cid]
        assert worker.customer_state(cid).events_seen == sum(e["customer_id"] == cid for e in stream)
        last = [r for r in changelog if r.key == key][-1]
        # The changelog carries the stored bytes, on the partition the customer's events came from.
        assert (last.value, last.partition) == (table[key], key_partition(key, PARTITIONS))


def test_an_invalid_record_is_dead_lettered_and_the_agent_goes_on(agent_app_factory, events):
    valid = events.call(0, customer="C-1")

    async def scenario() -> tuple[AgentApp, list[Any]]:
        worker = agent_app_factory()
        async with worker.agent("score_events").test_context() as agent:
            read_at = T0.timestamp() + 1.0
            bad = [await worker.put(agent, b"{nope", b"C-9", read_at),
                   await worker.put(agent, orjson.dumps(valid), b"C-2", read_at)]  # keyed by another customer
            await processed(agent, bad)
            await worker.score(agent, [valid])
        return worker, bad

    worker, bad = run(scenario)
    topics = worker.settings.topics
    letters = worker.producer.on(topics.dlq)
    assert [(r.key, r.partition) for r in letters] == [(b"C-9", key_partition(b"C-9", PARTITIONS)),
                                                        (b"C-2", key_partition(b"C-2", PARTITIONS))]
    first, second = (DeadLetter.model_validate_json(r.value) for r in letters)
    assert first.error.startswith("not valid JSON")
    assert (first.source_topic, first.partition, first.offset, first.key, first.raw) == (
        topics.events, key_partition(b"C-9", PARTITIONS), bad[0].message.offset, "C-9", "{nope")
    assert second.error == KEY_MISMATCH
    assert (second.partition, second.offset, second.key) == (
        key_partition(b"C-2", PARTITIONS), bad[1].message.offset, "C-2")
    assert orjson.loads(second.raw) == valid

    # The agent went on: the valid event was scored, and nothing else was stored.
    assert sorted(worker.app.tables["customer_to_state"].data) == [b"C-1"]
    assert worker.customer_state("C-1") == reference(worker.settings, [valid])[0].states["C-1"]
    assert [r.key for r in worker.producer.on(topics.scores)] == [b"C-1"]
    counters = worker.runtime.counters
    assert (counters.events, counters.invalid) == (3, 2)


def test_a_duplicate_event_id_changes_nothing_and_emits_nothing(agent_app_factory, events):
    stream = scripted(events)
    again = [stream[0], stream[4], stream[6],  # the same bytes redelivered
             {**stream[2], "occurred_at": events.call(9000)["occurred_at"], "is_complaint": True}]  # same id, new body

    async def scenario() -> tuple[AgentApp, int, dict, int]:
        worker = agent_app_factory()
        async with worker.agent("score_events").test_context() as agent:
            await worker.score(agent, stream)
            sent, stored = len(worker.producer.records), dict(worker.app.tables["customer_to_state"].data)
            alerts = worker.runtime.counters.alerts
            await worker.score(agent, again)
        return worker, sent, stored, alerts

    worker, sent, stored, alerts = run(scenario)
    assert sent > 0 and len(worker.producer.records) == sent
    assert dict(worker.app.tables["customer_to_state"].data) == stored
    counters = worker.runtime.counters
    assert (counters.events, counters.duplicates, counters.alerts) == (len(stream) + len(again), len(again), alerts)


def test_detect_incidents_raises_what_the_incident_engine_raises(agent_app_factory, events):
    burst = [events.call(60 + 20 * i, customer=f"N-{i:02d}", service_type="outage") for i in range(27)]
    burst += [events.call(400 + 30 * i, customer=f"N-{i:02d}", service_type="outage") for i in range(5)]  # again
    burst += [events.call(300 + 60 * i, customer=f"R-{i}", service_type="repair") for i in range(3)]
    burst.sort(key=lambda e: e["occurred_at"])
    # Later contacts on both partitions of cx.events move the watermark past the burst.
    later = [events.call(45 * 60, customer=cid, service_type="billing") for cid in ("C-1", "C-2")]
    assert {key_partition(e["customer_id"].encode(), PARTITIONS) for e in later} == set(range(PARTITIONS))
    stream = burst + later

    async def scenario() -> AgentApp:
        worker = agent_app_factory()
        async with worker.agent("score_events").test_context() as agent:
            await worker.score(agent, stream)
        contacts = worker.producer.on(worker.contacts_topic)
        async with worker.agent("detect_incidents").test_context() as agent:
            sent = [await worker.put(agent, r.value, r.key, partition=r.partition) for r in contacts]
            await processed(agent, sent)
        return worker

    worker = run(scenario)
    contacts = worker.producer.on(worker.contacts_topic)
    assert sum(r.key is not None for r in contacts) == len(stream)  # every inbound call, keyed by service type
    assert {r.partition for r in contacts if r.key is None} == set(range(PARTITIONS))  # marks reach every partition
    assert {r.partition for r in contacts if r.key == b"outage"} == {key_partition(b"outage", PARTITIONS)}

    engine, incidents = Engine(worker.settings.engine), IncidentEngine(worker.settings.engine)
    # The pure reference: each event through the engine, its contact through the incident
    # engine, then every window decided (the end of the stream).
    states: dict[str, Any] = {}
    customers: dict[str, Any] = {}
    expected = []
    for event in stream:
        result = engine.step(customers.get(event["customer_id"]), parse_event(orjson.dumps(event)))
        customers[event["customer_id"]] = result.state
        states[result.contact.service_type], found = incidents.add(states.get(result.contact.service_type),
                                                                   result.contact)
        expected += found
    for state in states.values():
        expected += incidents.advance(state, inf)

    raised = [r for r in worker.producer.on(worker.settings.topics.alerts)
              if orjson.loads(r.value)["rule"] == "incident"]
    assert alerts_by_customer(raised) == engine_alerts_by_customer(expected)
    incident, *updates = expected  # raised with 25 customers, then updated once with all 27
    assert [u.alert_id for u in updates] == [incident.alert_id] and updates[0].summary.startswith("27 customers")
    assert (incident.service_type, incident.customer_id, incident.severity) == ("outage", None, "critical")
    first_calls = {}
    for e in burst:
        if e["service_type"] == "outage":
            first_calls.setdefault(e["customer_id"], e["event_id"])
    assert incident.evidence == list(first_calls.values())[:25]  # the first 25 customers, by first contact
    assert [r.key for r in raised] == [b"outage", b"outage"] and worker.runtime.counters.incidents == 2
    assert b"outage" in worker.app.tables["service_to_incident"].data


def test_readiness_waits_for_the_assignment_and_the_tables_recovery(agent_app_factory):
    """``/readyz``'s body: not ready until faust's recovery ran the table callbacks, nor during a rebalance."""

    async def scenario() -> list[dict[str, Any]]:
        app = agent_app_factory().app
        runtime, seen = app.runtime, []
        seen.append(runtime.readiness())  # started, no assignment yet
        await runtime.customers.call_recover_callbacks()  # what faust runs when a recovery completed
        seen.append(runtime.readiness())
        app.on_rebalance_start()
        await app.on_partitions_revoked.send(revoked=set())  # eager protocol: a rebalance revokes first
        seen.append(runtime.readiness())
        app.on_rebalance_end()
        seen.append(runtime.readiness())  # assigned again, its changelog not read yet
        await runtime.customers.call_recover_callbacks()
        seen.append(runtime.readiness())
        return seen

    seen = run(scenario)

    assert [state["ready"] for state in seen] == [False, True, False, False, True]
    assert seen[2]["rebalancing"] and not seen[3]["rebalancing"] and not seen[3]["recovered"]
    assert seen[1]["events_partitions"] == 0  # no partition to wait for: ready (a rolling update goes on)

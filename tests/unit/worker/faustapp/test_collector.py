"""Consumer lag and faust's monitor, read at scrape time from the worker's own app.

Every object the collector reads is the real one of the pinned faust-streaming and aiokafka:
the app (``create_app``), its ``PartitionAssignor`` given an assignment through faust's own
``on_assignment`` (the bytes the group leader sends), its consumer with the
``AIOKafkaConsumer`` faust creates for it (high-water marks where aiokafka's fetcher keeps
them), and its ``Monitor`` fed through its sensor calls. Nothing connects.
"""

import asyncio
from typing import Any

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.structs import TopicPartition
from faust.assignor.client_assignment import ClientAssignment, ClientMetadata
from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry

from cxpulse.processors.worker.faustapp.app import WorkerApp
from cxpulse.processors.worker.faustapp.collector import FaustCollector, consumer_lag

EVENTS, CONTACTS = "cx.events", "contacts"


def _assign(app: WorkerApp, actives: dict[str, list[int]]) -> None:
    """What faust's assignor does with the group leader's answer for this member."""
    assignor = app.assignor
    metadata = ClientMetadata(assignment=ClientAssignment(actives=actives, standbys={}), url=str(assignor._url),
                              changelog_distribution={})
    kafka = ClientAssignment(actives=actives, standbys={}).kafka_protocol_assignment(assignor._table_manager)
    assignor.on_assignment(ConsumerProtocolMemberAssignment(assignor.version, kafka,
                                                            assignor._compress(metadata.dumps())))


def _kafka_consumer(app: WorkerApp, loop: asyncio.AbstractEventLoop, highwaters: dict[TP, int]) -> Any:
    """The ``AIOKafkaConsumer`` faust creates for the app, assigned ``highwaters``' partitions, with
    the high-water mark aiokafka's fetcher records from a fetch response."""
    thread = app.consumer._thread

    async def make() -> Any:  # inside the loop, as faust makes it
        consumer = thread._create_consumer(loop=loop)
        consumer._subscription.assign_from_user([TopicPartition(tp.topic, tp.partition) for tp in highwaters])
        return consumer

    consumer = thread._consumer = loop.run_until_complete(make())
    assignment = consumer._subscription.subscription.assignment
    for tp, end in highwaters.items():
        assignment.state_value(TopicPartition(tp.topic, tp.partition)).highwater = end
    return consumer


def _message(tp: TP, offset: int) -> Message:
    return Message(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None, tp=tp)


def test_lag_uses_the_committed_offset_then_the_read_offset(app, loop):
    a, b, c, gone = TP(EVENTS, 0), TP(EVENTS, 1), TP(EVENTS, 2), TP(EVENTS, 3)
    _kafka_consumer(app, loop, {a: 100, b: 50, c: None})
    consumer = app.consumer
    consumer._committed_offset[a] = 90  # faust's own maps: the next offset to read, the last one delivered
    consumer._read_offset[b] = 44

    assert dict(consumer_lag(consumer, [a, b, c, gone])) == {a: 10, b: 5}  # c: no fetch yet; gone: not assigned


def test_collector_reports_only_assigned_source_partitions(app, loop):
    events0, events1 = TP(EVENTS, 0), TP(EVENTS, 1)
    changelog = TP(app.runtime.customers.changelog_topic.get_topic_name(), 0)
    _assign(app, {EVENTS: [0, 1], changelog.topic: [0]})
    _kafka_consumer(app, loop, {events0: 100, events1: 40, changelog: 5000})
    app.consumer._committed_offset.update({events0: 100, events1: 10, changelog: 1})
    monitor, now = app.monitor, [1000.0]
    monitor.time = lambda: now[0]
    for offset in range(120):
        monitor.on_message_in(events0, offset, _message(events0, offset))
    for offset in range(30):
        message = _message(TP(CONTACTS, 0), offset)
        monitor.on_message_in(message.tp, offset, message)
        monitor.on_message_out(message.tp, offset, message)
    for tp in (events0, events0, events1):
        monitor.on_topic_buffer_full(tp)
    for _ in range(3):
        app.on_rebalance_start()
        app.on_rebalance_end()
    monitor.rebalances = app.rebalancing_count  # what Monitor.on_rebalance_start records once the app runs it
    for seconds in (0.010, 0.030, 0.020):
        started = monitor.on_commit_initiated(app.consumer)
        now[0] += seconds
        monitor.on_commit_completed(app.consumer, started)
    registry = CollectorRegistry()
    registry.register(FaustCollector(app, lambda: [EVENTS, CONTACTS]))
    value = registry.get_sample_value

    assert value("cxpulse_consumer_lag_records", {"topic": EVENTS, "partition": "0"}) == 0
    assert value("cxpulse_consumer_lag_records", {"topic": EVENTS, "partition": "1"}) == 30
    assert value("cxpulse_consumer_lag_records", {"topic": changelog.topic, "partition": "0"}) is None
    assert value("cxpulse_worker_assigned_partitions", {"topic": EVENTS}) == 2
    assert value("cxpulse_worker_assigned_partitions", {"topic": CONTACTS}) == 0
    assert value("cxpulse_worker_rebalancing") == 0
    assert value("cxpulse_faust_messages_received_total", {"topic": EVENTS}) == 120
    assert value("cxpulse_faust_messages_received_total", {"topic": CONTACTS}) == 30
    assert value("cxpulse_faust_stream_buffer_full_total", {"topic": EVENTS}) == 3
    assert value("cxpulse_faust_rebalances_total") == 3
    assert value("cxpulse_faust_messages_active") == 120
    assert value("cxpulse_faust_commit_latency_seconds") == pytest.approx(0.030)  # faust records seconds


def test_collector_during_a_rebalance_reports_no_partitions(app, loop):
    tp = TP(EVENTS, 0)
    _assign(app, {EVENTS: [0]})
    _kafka_consumer(app, loop, {tp: 9})
    app.consumer._committed_offset[tp] = 1
    app.on_rebalance_start()
    registry = CollectorRegistry()
    registry.register(FaustCollector(app, lambda: [EVENTS]))

    assert registry.get_sample_value("cxpulse_worker_rebalancing") == 1
    assert registry.get_sample_value("cxpulse_worker_assigned_partitions", {"topic": EVENTS}) == 0
    assert registry.get_sample_value("cxpulse_consumer_lag_records", {"topic": EVENTS, "partition": "0"}) is None


def test_before_the_first_assignment_and_fetch_nothing_is_reported(app):
    registry = CollectorRegistry()
    registry.register(FaustCollector(app, lambda: [EVENTS]))  # no assignment, no aiokafka consumer yet

    assert registry.get_sample_value("cxpulse_worker_assigned_partitions", {"topic": EVENTS}) == 0
    assert registry.get_sample_value("cxpulse_faust_commit_latency_seconds") == 0.0


def test_registering_does_not_touch_the_app():
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the app's {name} was read at registration")

    registry = CollectorRegistry(auto_describe=True)
    registry.register(FaustCollector(Untouchable(), lambda: [EVENTS]))

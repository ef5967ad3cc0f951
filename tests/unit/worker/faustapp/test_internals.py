"""Every private name of faust-streaming and aiokafka the worker uses, on the real classes of the pinned versions.

The list is docs/reliability.md, "Framework internals". Each test fails when an upgrade
renames, removes or changes what the worker relies on; the start-up check
(``processors/worker/versions.py``) refuses versions these tests did not run on.
"""

import inspect
import pytest
from aiokafka import AIOKafkaProducer
from faust.stores.memory import Store as MemoryStore
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP as FaustTP
from faust.types.tuples import Message

from cxpulse.processors.worker.faustapp.app import WorkerApp
from cxpulse.processors.worker.faustapp.transport import FastDrainConsumer, FastDrainTransport

TP = FaustTP("cx.events", 0)


@pytest.mark.parametrize("name", ["_drain_messages", "_new_offset", "_add_gap", "perform_seek", "on_partitions_revoked",
                                  "_wait_next_records"])
def test_each_overridden_consumer_method_exists_in_faust_with_the_same_parameters(name):
    ours, theirs = getattr(FastDrainConsumer, name), getattr(faust_aiokafka.Consumer, name)
    assert ours is not theirs
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)
    assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs)


@pytest.mark.parametrize("which", ["faust", "ours"])
def test_with_no_partition_active_the_fetch_loop_looks_again_soon_where_faust_sleeps_a_second(app, loop, which):
    from cxpulse.processors.worker.faustapp.transport import IDLE_RECHECK_SECONDS

    consumer = app.consumer
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the consumer's own Service.sleep, recorded
        slept.append(seconds)

    consumer.sleep = sleep
    consumer._active_partitions = set()  # assigned partitions, every one paused (or none assigned)
    assert consumer.flow_active and not app.client_only
    method = faust_aiokafka.Consumer._wait_next_records if which == "faust" else FastDrainConsumer._wait_next_records
    records, active = loop.run_until_complete(method(consumer, 1.0))
    assert (records, active) == ({}, set())
    assert slept == ([1] if which == "faust" else [IDLE_RECHECK_SECONDS])


def test_the_app_uses_the_fast_drain_transport_and_consumer(app):
    assert callable(faust_aiokafka.Transport.Consumer)
    assert "_new_transport" in vars(WorkerApp) and hasattr(type(app).__mro__[1], "_new_transport")
    assert type(app.transport) is FastDrainTransport and type(app.consumer) is FastDrainConsumer


def test_the_consumer_state_the_overrides_read_is_faust_s(app):
    consumer = app.consumer
    for name in ("_read_offset", "_committed_offset", "_acked", "_acked_index", "_gap"):
        assert hasattr(getattr(consumer, name), "__getitem__"), name
    assert consumer._read_offset[TP] is None and consumer._committed_offset[TP] is None  # defaultdicts
    assert consumer._acked[TP] == [] and consumer._acked_index[TP] == set() and not consumer._gap[TP]
    assert isinstance(consumer._unacked_messages, set) or hasattr(consumer._unacked_messages, "discard")
    assert consumer._n_acked == 0 and consumer._commit_every is None or isinstance(consumer._commit_every, int)
    assert isinstance(consumer.consumer_stopped_errors, tuple) and hasattr(consumer._stopped, "is_set")
    assert hasattr(consumer.suspend_flow, "is_set") and callable(consumer.wait_first)
    assert callable(consumer.seek_to_committed) and callable(consumer.getmany)
    # what the _wait_next_records override reads, as faust's own does
    assert callable(consumer._get_active_partitions) and inspect.iscoroutinefunction(consumer._getmany)
    assert list(inspect.signature(consumer._getmany).parameters) == ["active_partitions", "timeout"]
    assert hasattr(consumer.not_waiting_next_records, "set") and hasattr(consumer.can_resume_flow, "wait")


def test_track_and_ack_use_the_unacked_set_the_drop_path_discards(app, loop):
    app.topics.add(app.topic("cx.events"))
    loop.run_until_complete(app.topics._update_indices())
    message = Message("cx.events", 0, 7, 0.0, 0, None, b"k", b"v", None, tp=TP)
    app.consumer.track_message(message)
    assert message in app.consumer._unacked_messages  # DirectBatches._drop discards from it
    assert app.consumer.ack(message) is True
    assert message not in app.consumer._unacked_messages and app.consumer._acked[TP] == [7]


def test_faust_s_commit_flushes_but_its_flush_cannot_report_a_failed_send():
    # Why the worker waits for its own delivery futures: faust's commit path calls producer.flush().
    source = inspect.getsource(FaustConsumer._commit_offsets)
    assert "self.app.producer.flush()" in source


def test_the_producer_behind_faust_s_is_aiokafka_s_with_the_batch_api(app, loop):
    producer = app.producer
    assert isinstance(producer, faust_aiokafka.Producer)
    async def make() -> AIOKafkaProducer:
        return producer._new_producer()  # aiokafka's producer, made as faust makes it (inside the loop)

    inner = loop.run_until_complete(make())
    producer._producer = inner
    try:
        assert producer._ensure_producer() is inner and isinstance(inner, AIOKafkaProducer)
        for name in ("create_batch", "send_batch", "partitions_for"):
            assert callable(getattr(inner, name)), name
        assert list(inspect.signature(inner.send_batch).parameters)[:3] == ["batch", "topic"] + ["partition"]
        batch = inner.create_batch()
        assert batch.append(key=b"k", value=b"v", timestamp=None) is not None
    finally:
        producer._producer = None
        loop.run_until_complete(inner.stop())  # never started, but aiokafka warns of an unclosed producer


def test_the_memory_store_maps_keys_to_partitions_as_its_changelog_delivers_them(app, loop):
    table = app.runtime.customers
    store = table.data
    assert isinstance(store, MemoryStore) and isinstance(store._key_partition, dict)

    class Event:  # a changelog event as faust's recovery hands it over: .key, .value, .message
        def __init__(self, key: bytes, value: bytes | None, partition: int) -> None:
            self.key, self.value = key, value
            self.message = Message("changelog", partition, 0, 0.0, 0, None, key, value, None)

    store.apply_changelog_batch([Event(b"C-1", b"s1", 1), Event(b"C-2", b"s2", 0)], lambda k: k, lambda v: v)
    assert store._key_partition == {b"C-1": 1, b"C-2": 0}
    assert app.runtime.scoring.key_partitions is store._key_partition  # the runtime shares faust's own map


def test_the_crash_reason_the_cli_reports_is_mode_s(app, loop):
    from mode.worker import Worker

    assert hasattr(Worker, "on_setup_root_logger") and hasattr(Worker, "crash_reason")
    loop.run_until_complete(app.crash(RuntimeError("a write failed")))
    assert isinstance(app.crash_reason, RuntimeError)


def test_a_consumer_of_the_pinned_faust_is_constructed_with_these_callbacks():
    params = inspect.signature(FaustConsumer.__init__).parameters
    assert {"transport", "callback", "on_partitions_revoked", "on_partitions_assigned"} <= set(params)



"""BatchWriter refuses a record over its topic's max.message.bytes before sending anything (aiokafka would
put it into a batch of its own and the broker would reject it), with a real, unstarted aiokafka producer."""

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from cxpulse.processors.worker.faustapp.writer import BatchWriter, RecordTooLarge, RetryPolicy, WriteFailed


@pytest.fixture
def producer():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def make() -> AIOKafkaProducer:
        return AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=16_384)

    made = loop.run_until_complete(make())
    yield loop, made
    loop.run_until_complete(made.stop())  # never started, but aiokafka warns of an unclosed producer
    loop.close()
    asyncio.set_event_loop(None)


def test_a_record_over_its_topic_limit_is_refused_before_it_is_sent(producer):
    loop, inner = producer
    writer = BatchWriter(inner, {"changelog": 1}, limits={"changelog": 1000})
    writer.add("changelog", b"C-2", b"x" * 1000, 0)  # its batch is over 1,000 bytes with the framing
    with pytest.raises(RecordTooLarge, match=r"byte record batch for changelog\[0\] is over the topic's max.message.bytes 1000"):
        loop.run_until_complete(writer.send())
    assert isinstance(RecordTooLarge("x"), WriteFailed)  # it stops the worker the same way


def test_aiokafka_accepts_any_first_record_into_a_batch(producer):
    # Why the writer checks sizes itself: the producer's batch size is no guard.
    _, inner = producer
    batch = inner.create_batch()
    assert batch.append(key=b"k", value=b"x" * 100_000, timestamp=None) is not None


def test_the_retry_backoff_doubles_up_to_its_cap():
    policy = RetryPolicy(retries=5, backoff_seconds=0.5, max_backoff_seconds=5.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 5.0]


def test_records_of_one_topic_move_to_another_writer(producer):
    _, inner = producer
    effects, state = BatchWriter(inner), BatchWriter(inner)
    effects.add("alerts", b"C-1", b"a", 0)
    state.add("scores", b"C-1", b"s", 0)
    state.add("changelog", b"C-1", b"c", 0)
    effects.take(state, "scores")
    effects.take(state, "nothing-queued")
    assert (len(effects), len(state)) == (2, 1)
    assert set(effects._pending) == {"alerts", "scores"} and set(state._pending) == {"changelog"}

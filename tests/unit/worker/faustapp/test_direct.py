"""DirectBatches on a real WorkerApp and its real consumer (no broker): batches handed to the processor,
acked after it with faust's ``Consumer.ack``, stale records dropped unacked."""

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP as FaustTP
from faust.types.tuples import Message

from cxpulse.processors.worker.faustapp.app import WorkerApp
from cxpulse.processors.worker.faustapp.direct import DirectBatches
from cxpulse.processors.worker.faustapp.transport import FastDrainConsumer

TP = FaustTP("cx.events", 0)


class Out(faust.Sensor):
    """A real faust sensor: the offsets faust's monitor would see leave the app."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[int] = []

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        self.out.append(offset)


class Harness:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.app = WorkerApp("cxpulse-test-direct", broker="kafka://127.0.0.1:1", web_enabled=False)
        self.app.topics.add(self.app.topic("cx.events"))
        self.loop.run_until_complete(self.app.topics._update_indices())  # acks enabled for cx.events
        self.app.consumer_generation_id = 1
        self.app.flow_control.resume()
        self.sensor = Out()
        self.app.sensors.add(self.sensor)
        assert isinstance(self.app.consumer, FastDrainConsumer)

    @property
    def acked(self) -> list[int]:
        return sorted(self.app.consumer._acked[TP])

    @property
    def tracked(self) -> set[int]:
        return {m.offset for m in self.app.consumer._unacked_messages}

    def close(self) -> None:
        self.loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def harness():
    made = Harness()
    yield made
    made.close()


def _message(offset: int, generation: int = 1) -> Message:
    message = Message("cx.events", 0, offset, 0.0, 0, None, b"k", b"v", None, tp=TP)
    message.generation_id = generation
    return message


def test_batches_are_acked_after_processing_and_leave_faust_s_active_count(harness):
    app, handled, acked_when_handled = harness.app, [], []

    async def handle(batch, deferred):
        acked_when_handled.append(harness.acked)
        handled.append([m.offset for m in batch])
        if len(handled) == 2:
            app._stopped.set()  # mode: should_stop

    async def run():
        direct = DirectBatches(app, handle, batch_max=3, within=0.01, maxsize=10)
        for offset in range(5):
            await direct.put(_message(offset))
        assert harness.tracked == {0, 1, 2, 3, 4}
        await direct.run()

    harness.loop.run_until_complete(run())
    assert handled == [[0, 1, 2], [3, 4]]
    assert acked_when_handled == [[], [0, 1, 2]]  # a batch is acked only after its processing returned
    assert harness.acked == harness.sensor.out == [0, 1, 2, 3, 4] and harness.tracked == set()


def test_a_batch_whose_processing_fails_is_not_acked(harness):
    app = harness.app

    async def handle(batch, deferred):
        raise RuntimeError("a write failed")

    async def run():
        direct = DirectBatches(app, handle, batch_max=3, within=0.01, maxsize=10)
        for offset in range(3):
            await direct.put(_message(offset))
        await direct.run()

    with pytest.raises(RuntimeError):
        harness.loop.run_until_complete(run())
    assert harness.acked == [] and harness.tracked == {0, 1, 2}  # nothing may be committed


def test_a_batch_is_acked_after_its_deferred_write_answered_in_batch_order_and_never_when_it_failed(harness):
    app = harness.app
    answers: list[asyncio.Future] = []

    async def handle(batch, deferred):
        answer = asyncio.get_running_loop().create_future()
        answers.append(answer)
        deferred.append(answer)

    async def run():
        direct = DirectBatches(app, handle, batch_max=2, within=0.01, maxsize=10)
        for offset in range(6):
            await direct.put(_message(offset))
        runner = asyncio.ensure_future(direct.run())
        while len(answers) < 3:
            await asyncio.sleep(0.001)
        assert harness.acked == []  # processed, the changelog not yet answered
        answers[1].set_result(None)
        await asyncio.sleep(0.01)
        assert harness.acked == []  # the second batch waits for the first one's acks
        answers[0].set_result(None)
        await asyncio.sleep(0.01)
        assert harness.acked == [0, 1, 2, 3]
        answers[2].set_exception(RuntimeError("changelog write rejected"))
        await asyncio.sleep(0.01)
        assert app._crashed.is_set() and isinstance(app.crash_reason, RuntimeError)  # the worker stops
        runner.cancel()

    harness.loop.run_until_complete(run())
    assert harness.acked == [0, 1, 2, 3] and harness.tracked == {4, 5}  # never acked: never committed


def test_records_of_a_past_generation_are_dropped_without_an_ack(harness):
    app, handled = harness.app, []

    async def handle(batch, deferred):
        handled.append([m.offset for m in batch])
        app._stopped.set()  # mode: should_stop

    async def run():
        direct = DirectBatches(app, handle, batch_max=10, within=0.01, maxsize=10)
        for offset in range(3):
            await direct.put(_message(offset, generation=1))
        app.consumer_generation_id = 2  # a rebalance: faust reads offsets 0..2 again
        await direct.put(_message(0, generation=2))
        await direct.run()

    harness.loop.run_until_complete(run())
    assert handled == [[0]] and harness.acked == [0]
    assert sorted(harness.sensor.out) == [0, 0, 1, 2] and harness.tracked == set()  # dropped: untracked, never acked
